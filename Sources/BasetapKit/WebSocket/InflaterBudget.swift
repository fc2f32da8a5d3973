/// Bounds how many inflaters are awake at once across the connections of one decode: past
/// `limit`, the one woken longest ago is put to sleep (its window kept, zlib's state freed), so
/// 20 000 deflate connections left open cost their windows, not 20 000 zlib states. It is FIFO
/// by waking, not LRU: a busy connection is put to sleep and woken once per `limit` wakings of
/// others, which costs less than keeping an order on every message.
///
/// One per pcap decoder, on one thread; the proxy's connections run on several event loops and
/// keep their inflaters awake.
public final class InflaterBudget {
    public static let defaultLimit = 1024

    public let limit: Int
    private var queue: [Weak] = []
    private var head = 0
    public private(set) var awake = 0
    /// Times an inflater was put to sleep to make room.
    public private(set) var putToSleep = 0

    /// An inflater as it was woken: a later waking queues it again, and the earlier entry is spent.
    private struct Weak {
        weak var inflater: MessageInflater?
        var waking: Int
    }
    private var wakings = 0

    public init(limit: Int = InflaterBudget.defaultLimit) {
        self.limit = max(1, limit)
    }

    /// Returns the waking's number, which the inflater keeps until it sleeps.
    func woke(_ inflater: MessageInflater) -> Int {
        awake += 1
        wakings += 1
        queue.append(Weak(inflater: inflater, waking: wakings))
        while awake > limit, head < queue.count {
            let entry = queue[head]
            head += 1
            if let oldest = entry.inflater, oldest !== inflater, oldest.isAwake, oldest.waking == entry.waking {
                oldest.sleep()
                putToSleep += 1
            }
        }
        if head > 4096 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return wakings
    }

    func fellAsleep() {
        awake -= 1
    }
}

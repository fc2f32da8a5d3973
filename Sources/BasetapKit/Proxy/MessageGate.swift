import NIOCore

/// One direction of a relay once message-level control has touched it: the bytes read are held
/// from `released` on and let go a unit at a time (a message with any control frames inside it, or
/// a control frame), each as it came, dropped, replaced by new frames, or kept while someone
/// decides. It decides and returns what to send; `ProxyConnection` sends it.
struct MessageGate {
    enum Decision: Equatable {
        case forward
        case drop
        case replace([UInt8])
        case hold(Int)
    }

    struct Entry {
        var end: Int
        var decision: Decision
        var unit: ProxyTap.Unit?
        /// For an edit: the record of what the receiver got instead.
        var edited: CaptureRecord?
    }

    enum Output {
        /// The unit's bytes exactly as they were read.
        case original(ByteBuffer, Entry)
        /// The unit's bytes are not sent: nothing (dropped) or new frames take their place.
        case replaced(Entry)
    }

    /// Stream offset (in bytes read from the sender) up to which bytes were sent on or dropped.
    private(set) var released: Int
    /// Bytes from `released` on.
    private var held: ByteBuffer
    private var entries: [Entry] = []
    private var head = 0
    /// Where the last unit ended.
    private(set) var position: Int
    /// Injections waiting for the end of a message that was half relayed before the gate closed.
    private var waiting: [Entry] = []

    /// `released`: bytes read so far, all of them relayed already; `position`: the last unit end
    /// among them (less than `released` when a message was half relayed).
    init(released: Int, position: Int, allocator: ByteBufferAllocator) {
        self.released = released
        self.position = position
        held = allocator.buffer(capacity: 0)
    }

    var heldBytes: Int { held.readableBytes }

    mutating func append(_ buffer: ByteBuffer) {
        var buffer = buffer
        held.writeBuffer(&buffer)
    }

    /// A unit the tap saw end. One that began before `released` is already half sent and goes on as it came.
    mutating func add(_ unit: ProxyTap.Unit, _ decision: Decision) {
        let started = position
        position = unit.end
        guard unit.end > released else { return }
        entries.append(Entry(end: unit.end, decision: started < released ? .forward : decision, unit: unit))
        if !waiting.isEmpty {
            for var entry in waiting {
                entry.end = unit.end
                entries.append(entry)
            }
            waiting.removeAll()
        }
    }

    /// A new message from basetap, sent at once: ahead of anything held (the receiver has not seen
    /// it), but never inside a message, so after the end of one that was half relayed.
    mutating func inject(_ frames: [UInt8], _ unit: ProxyTap.Unit) {
        let entry = Entry(end: released, decision: .replace(frames), unit: unit)
        if position < released { waiting.append(entry) } else { entries.insert(entry, at: head) }
    }

    /// Settles a held unit; false when there is no such hold (released already, or timed out).
    mutating func settle(_ hold: Int, _ decision: Decision, edited: CaptureRecord? = nil) -> Bool {
        guard let index = entries[head...].firstIndex(where: { $0.decision == .hold(hold) }) else { return false }
        entries[index].decision = decision
        entries[index].edited = edited
        return true
    }

    /// The holds still waiting, in order.
    var holds: [Int] {
        entries[head...].compactMap { if case .hold(let id) = $0.decision { id } else { nil } }
    }

    /// Lets go of every unit from the front up to the first one still held.
    mutating func drain() -> [Output] {
        var out: [Output] = []
        while head < entries.count {
            let entry = entries[head]
            if case .hold = entry.decision { break }
            head += 1
            let length = entry.end - released
            let bytes = held.readSlice(length: length)!
            released = entry.end
            out.append(entry.decision == .forward ? .original(bytes, entry) : .replaced(entry))
        }
        if head > 64 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        if held.readerIndex > 1 << 16 { held.discardReadBytes() }
        return out
    }

    /// The direction can no longer be followed frame by frame: everything held goes on as it came,
    /// after what was decided; holds still open are let go unchanged.
    mutating func openUp() -> [Output] {
        for index in head..<entries.count {
            if case .hold = entries[index].decision { entries[index].decision = .forward }
        }
        var out = drain()
        if held.readableBytes > 0 {
            let rest = held.readSlice(length: held.readableBytes)!
            released += rest.readableBytes
            out.append(.original(rest, Entry(end: released, decision: .forward, unit: nil)))
        }
        return out
    }
}

/// The request/response memory of one connection (PROTOCOL.md §5).
///
/// A message whose id matches a request of the other side is a response to it; any other
/// non-error message is a request of its own side. Memory is bounded: past `limit` remembered
/// requests the oldest is forgotten, and `evicted` counts how many were.
///
/// Requests are kept in a ring in the order they were made, so forgetting the oldest is reading
/// the ring's head; an open-addressing table finds them by side and id. Checking spends much of
/// its time here (a capture at the limit touches every remembered request once more when it is
/// forgotten), which a dictionary plus an order list did with three lookups per request.
public struct ChainTracker: Sendable {
    public static let defaultLimit = 10_000

    struct Request {
        var hash: Int
        var id: String
        var type: String
        var side: Direction
        var answered: Bool
        /// False once a newer request of the same side took the id, or once forgotten: the ring
        /// keeps the place until its head passes it.
        var live: Bool
    }

    public let limit: Int
    public private(set) var evicted = 0
    /// Requests in the order they were made, from `head` to `tail` (positions count up for ever;
    /// a request's place in the ring is its position modulo the ring's size).
    private var ring: [Request] = []
    private var head = 0
    private var tail = 0
    /// Open addressing by hash, linear probing: each slot holds the low 32 bits of its request's
    /// hash above its ring index plus one (read only where `marks` says the slot is taken). A probe
    /// reads only the table until a hash matches, not the requests: at the open-id limit those are
    /// megabytes, and every read of one a cache miss.
    ///
    /// Forgetting a request leaves its slot in place (a probe that reaches it finds the request
    /// no longer live): emptying it at once was a second cache miss per request at the limit.
    /// The table is rebuilt from the live requests when half its slots are taken.
    private var slots: [UInt64] = []
    /// One byte per slot, kept apart: 0 while the slot is empty, else seven other bits of its
    /// request's hash with the top bit set. A probe reads these first, and for a new id (every
    /// request) nothing else: a table of a connection at the limit is a quarter of a megabyte,
    /// and its first read was a cache miss per request; its marks are an eighth of that.
    private var marks: [UInt8] = []
    /// Slots taken, by live requests and by forgotten ones.
    private var taken = 0
    private var count = 0
    /// The largest ring: room for `limit` live requests and a quarter more for superseded ones, so
    /// that compacting a full ring always frees a good part of it.
    private let maxRing: Int

    public init(limit: Int = ChainTracker.defaultLimit) {
        self.limit = max(1, limit)
        var size = 16
        while size < self.limit + self.limit / 4 + 1 { size *= 2 }
        maxRing = size
    }

    /// Observes a message and returns the §5 findings it causes.
    public mutating func observe(_ dir: Direction, id: String, type: String) -> Finding? {
        let kind = MessageType(type)
        if case .bareError = kind { return nil }  // error.bare; nothing to tie
        let hash = Self.hash(id)
        let found = find(id, hash, mine: dir)
        if case .error(answering: let requested) = kind {
            guard let at = found.theirs?.at else {
                return Finding(
                    .chainUnknownID, "/id",
                    "\(JSONString.quoted(type)) answers id \(JSONString.quoted(JSONReader.abbreviate(id))), which the other side never sent as a request")
            }
            ring[at].answered = true
            if ring[at].type != requested {
                return Finding(
                    .chainTypeMismatch, "/type",
                    "\(JSONString.quoted(type)) answers request \(JSONString.quoted(JSONReader.abbreviate(id))) of type \(JSONString.quoted(ring[at].type))")
            }
            return nil
        }
        if let at = found.theirs?.at {
            ring[at].answered = true
            return nil
        }
        var finding: Finding?
        if let at = found.mine?.at {
            let old = ring[at]
            if !old.answered && old.type != type {
                finding = Finding(
                    .chainIDReuse, "/id",
                    "id \(JSONString.quoted(JSONReader.abbreviate(id))) is reused for \(JSONString.quoted(type)) while the request of type \(JSONString.quoted(old.type)) is unanswered")
            }
            ring[at].live = false
        }
        let (at, relaid) = append(Request(hash: hash, id: id, type: type, side: dir, answered: false, live: true))
        if relaid {
            insert(hash, ringIndex: at)
        } else if let mine = found.mine {
            slots[mine.slot] = Self.slot(hash, at)
        } else {
            occupy(found.empty, hash, ringIndex: at)
            if taken * 2 > slots.count { rebuildTable() }
        }
        if found.mine == nil { count += 1 }
        while count > limit { evictOldest() }
        return finding
    }

    /// A per-process keyed hash of the id: ids come from the peers, who must not be able to choose
    /// ids that collide and turn every lookup into a walk.
    private static func hash(_ id: String) -> Int {
        var hasher = Hasher()
        var id = id
        id.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        return hasher.finalize()
    }

    /// The live requests with `id` of this side and of the other, found in one walk of the id's probe
    /// run (both sides' requests of an id share it), and the empty slot that ends the run.
    private func find(_ id: String, _ hash: Int, mine side: Direction) -> (mine: (slot: Int, at: Int)?, theirs: (slot: Int, at: Int)?, empty: Int) {
        var mine: (slot: Int, at: Int)?, theirs: (slot: Int, at: Int)?
        guard !slots.isEmpty else { return (nil, nil, 0) }
        let mask = slots.count - 1
        let mark = Self.mark(hash)
        var slot = hash & mask
        while true {
            let seen = marks[slot]
            if seen == 0 { return (mine, theirs, slot) }
            if seen == mark {
                let entry = slots[slot]
                let request = Int(entry & 0xFFFF_FFFF) - 1
                if entry >> 32 == UInt64(UInt32(truncatingIfNeeded: hash)) && ring[request].live && ring[request].hash == hash
                    && ring[request].id == id
                {
                    if ring[request].side == side { mine = (slot, request) } else { theirs = (slot, request) }
                }
            }
            slot = (slot + 1) & mask
        }
    }

    /// Bits of the hash that the slot's index does not use (it uses the low ones).
    private static func mark(_ hash: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: hash >> 57) | 0x80
    }

    private static func slot(_ hash: Int, _ ringIndex: Int) -> UInt64 {
        UInt64(UInt32(truncatingIfNeeded: hash)) << 32 | UInt64(ringIndex + 1)
    }

    private mutating func insert(_ hash: Int, ringIndex: Int) {
        let mask = slots.count - 1
        var slot = hash & mask
        while marks[slot] != 0 { slot = (slot + 1) & mask }
        occupy(slot, hash, ringIndex: ringIndex)
    }

    private mutating func occupy(_ slot: Int, _ hash: Int, ringIndex: Int) {
        slots[slot] = Self.slot(hash, ringIndex)
        marks[slot] = Self.mark(hash)
        taken += 1
    }

    /// Empties the table and puts back the live requests only.
    private mutating func rebuildTable() {
        for i in marks.indices { marks[i] = 0 }  // a slot is read only when its mark is set
        taken = 0
        for position in head..<tail where ring[position & (ring.count - 1)].live {
            insert(ring[position & (ring.count - 1)].hash, ringIndex: position & (ring.count - 1))
        }
    }

    /// Adds a request at the tail, growing or compacting a full ring first (which places every
    /// live request anew); returns its ring index and whether that happened.
    private mutating func append(_ request: Request) -> (at: Int, relaid: Bool) {
        var relaid = false
        if tail - head == ring.count {
            // Grow while at least half the ring is live requests; otherwise dropping the superseded ones is enough.
            relayout(size: ring.isEmpty ? 16 : count * 2 >= ring.count && ring.count < maxRing ? ring.count * 2 : ring.count)
            relaid = true
        }
        let at = tail & (ring.count - 1)
        ring[at] = request
        tail += 1
        return (at, relaid)
    }

    /// Lays the live requests out from the start of a ring of `size`, in order, and rebuilds the table.
    private mutating func relayout(size: Int) {
        var next: [Request] = []
        next.reserveCapacity(size)
        if !ring.isEmpty {
            for position in head..<tail where ring[position & (ring.count - 1)].live { next.append(ring[position & (ring.count - 1)]) }
        }
        head = 0
        tail = next.count
        let filler = Request(hash: 0, id: "", type: "", side: .c2s, answered: false, live: false)
        next.append(contentsOf: repeatElement(filler, count: size - next.count))
        ring = next
        slots = [UInt64](repeating: 0, count: size * 2)
        marks = [UInt8](repeating: 0, count: size * 2)
        taken = 0
        for at in 0..<tail { insert(ring[at].hash, ringIndex: at) }
    }

    private mutating func evictOldest() {
        while head < tail {
            let at = head & (ring.count - 1)
            head += 1
            guard ring[at].live else { continue }
            ring[at].live = false
            count -= 1
            evicted += 1
            return
        }
    }
}

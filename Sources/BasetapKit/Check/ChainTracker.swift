/// The request/response memory of one connection (PROTOCOL.md §5).
///
/// A message whose id matches a request of the other side is a response to it; any other
/// non-error message is a request of its own side. Memory is bounded: past `limit` remembered
/// requests the oldest is forgotten, and `evicted` counts how many were.
public struct ChainTracker: Sendable {
    public static let defaultLimit = 10_000

    struct Request {
        var type: String
        var answered: Bool
        var sequence: Int
    }

    public let limit: Int
    public private(set) var evicted = 0
    private var requests = PerDirection<[String: Request]>(repeating: [:])
    /// Insertion order for eviction: (side, id, sequence). Entries whose sequence no longer
    /// matches the dictionary were superseded and are skipped.
    private var order: [(side: Direction, id: String, sequence: Int)] = []
    private var orderHead = 0
    private var sequence = 0
    private var count = 0

    public init(limit: Int = ChainTracker.defaultLimit) {
        self.limit = max(1, limit)
    }

    /// Observes a message and returns the §5 findings it causes.
    public mutating func observe(_ dir: Direction, id: String, type: String) -> Finding? {
        let (mine, theirs) = (dir, dir.opposite)
        switch MessageType(type) {
        case .bareError:
            return nil  // error.bare; nothing to tie
        case .error(answering: let requested):
            // Each step hashes the id once: a dictionary index is kept rather than looked up again.
            guard let slot = requests[theirs].index(forKey: id) else {
                return Finding(
                    .chainUnknownID, "/id",
                    "\(JSONString.quoted(type)) answers id \(JSONString.quoted(JSONReader.abbreviate(id))), which the other side never sent as a request")
            }
            requests[theirs].values[slot].answered = true
            let request = requests[theirs].values[slot]
            if request.type != requested {
                return Finding(
                    .chainTypeMismatch, "/type",
                    "\(JSONString.quoted(type)) answers request \(JSONString.quoted(JSONReader.abbreviate(id))) of type \(JSONString.quoted(request.type))")
            }
            return nil
        case .plain:
            break
        }
        if let slot = requests[theirs].index(forKey: id) {
            requests[theirs].values[slot].answered = true
            return nil
        }
        var finding: Finding?
        sequence += 1
        if let previous = requests[mine].updateValue(Request(type: type, answered: false, sequence: sequence), forKey: id) {
            if !previous.answered && previous.type != type {
                finding = Finding(
                    .chainIDReuse, "/id",
                    "id \(JSONString.quoted(JSONReader.abbreviate(id))) is reused for \(JSONString.quoted(type)) while the request of type \(JSONString.quoted(previous.type)) is unanswered")
            }
        } else {
            count += 1
        }
        order.append((mine, id, sequence))
        while count > limit { evictOldest() }
        if orderHead > limit || order.count - orderHead > 2 * limit + 1024 { compactOrder() }
        return finding
    }

    /// Drops superseded and evicted entries, so that an id reused again and again cannot grow the order list.
    private mutating func compactOrder() {
        order = order[orderHead...].filter { requests[$0.side][$0.id]?.sequence == $0.sequence }
        orderHead = 0
    }

    private mutating func evictOldest() {
        while orderHead < order.count {
            // The entry's fields are read where they stand: a copy of the entry would retain its id.
            let k = orderHead, side = order[k].side
            orderHead += 1
            if let slot = requests[side].index(forKey: order[k].id), requests[side].values[slot].sequence == order[k].sequence {
                requests[side].remove(at: slot)
                count -= 1
                evicted += 1
                return
            }
        }
    }
}

import Foundation
import NIOConcurrencyHelpers

/// What the web inspector shows: every record of the proxy's traffic or of the captures opened, in
/// order, each with a `seq`, the violations found on it, and the connections they belong to. Fed
/// by one writer (the proxy's `SinkWriter`, or the loader of `basetap view`); read by the server.
final class InspectorStore: Sendable {
    struct Item: Sendable {
        var seq: Int
        var record: CaptureRecord
        /// The message's number in its connection and direction, as violations count.
        var index: Int?
        var violations: [Violation] = []
    }

    struct Connection: Sendable {
        var id: String
        var client: String?
        var server: String?
        var url: String?
        var open = true
        var messages = SIMD2<Int>.zero
        var errors = 0
        var warnings = 0
    }

    struct Held: Sendable {
        var seq: Int
        var message: HeldMessage
    }

    enum Event: Sendable {
        case connection(Connection)
        case item(Item)
        case violation(Violation)
        case held(Held)
        case settled(seq: Int)
    }

    private struct State {
        var items: [Item] = []
        var connections: [String: Connection] = [:]
        var order: [String] = []
        var violations: [Violation] = []
        /// Per connection and direction: the next message index, and where each index landed.
        var nextIndex: [String: SIMD2<Int>] = [:]
        var itemOfMessage: [String: Int] = [:]
        /// Violations of a message not recorded yet (wire findings come before their message).
        var waiting: [String: [Violation]] = [:]
        var held: [Held] = []
        var nextSeq = 1
        var listeners: [Int: @Sendable (Event) -> Void] = [:]
        var nextListener = 0
        var loading = false
    }

    private let state = NIOLockedValueBox(State())
    /// Most records kept for a live proxy; the oldest go first. Captures opened with `view` keep all.
    let limit: Int?

    init(limit: Int? = nil) {
        self.limit = limit
    }

    private static func key(_ conn: String, _ dir: Direction, _ index: Int) -> String { "\(conn) \(dir.rawValue) \(index)" }

    func add(_ record: CaptureRecord) {
        let (events, listeners) = state.withLockedValue { state -> ([Event], [@Sendable (Event) -> Void]) in
            var events: [Event] = []
            var item = Item(seq: state.nextSeq, record: record)
            state.nextSeq += 1
            if state.connections[record.conn] == nil {
                state.connections[record.conn] = Connection(id: record.conn)
                state.order.append(record.conn)
            }
            var connection = state.connections[record.conn]!
            switch record.kind {
            case .open:
                connection.client = record.client
                connection.server = record.server
                connection.url = record.url
            case .end:
                connection.open = false
            case .text, .binary:
                guard let dir = record.dir else { break }
                let side = dir == .c2s ? 0 : 1
                let index = state.nextIndex[record.conn, default: .zero][side]
                state.nextIndex[record.conn, default: .zero][side] += 1
                connection.messages[side] += 1
                item.index = index
                let key = Self.key(record.conn, dir, index)
                item.violations = state.waiting.removeValue(forKey: key) ?? []
                state.itemOfMessage[key] = state.items.count
            case .ping, .pong, .close:
                break
            }
            state.connections[record.conn] = connection
            state.items.append(item)
            if let limit, state.items.count > limit { Self.evict(&state, keeping: limit) }
            events.append(.item(item))
            if record.kind == .open || record.kind == .end { events.append(.connection(connection)) }
            return (events, Array(state.listeners.values))
        }
        for event in events { for listener in listeners { listener(event) } }
    }

    private static func evict(_ state: inout State, keeping limit: Int) {
        let drop = state.items.count - limit + limit / 4
        state.items.removeFirst(drop)
        state.itemOfMessage = state.itemOfMessage.compactMapValues { $0 >= drop ? $0 - drop : nil }
    }

    func add(_ violation: Violation) {
        let listeners = state.withLockedValue { state -> [@Sendable (Event) -> Void] in
            state.violations.append(violation)
            if var connection = state.connections[violation.conn] {
                if violation.severity == .error { connection.errors += 1 } else { connection.warnings += 1 }
                state.connections[violation.conn] = connection
            }
            if let dir = violation.dir, let index = violation.index {
                let key = Self.key(violation.conn, dir, index)
                if let position = state.itemOfMessage[key] {
                    state.items[position].violations.append(violation)
                } else {
                    state.waiting[key, default: []].append(violation)
                }
            }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener(.violation(violation)) }
    }

    func held(_ message: HeldMessage) {
        let (held, listeners) = state.withLockedValue { state -> (Held, [@Sendable (Event) -> Void]) in
            let held = Held(seq: state.nextSeq, message: message)
            state.nextSeq += 1
            state.held.append(held)
            return (held, Array(state.listeners.values))
        }
        for listener in listeners { listener(.held(held)) }
    }

    func settled(conn: Int, hold: Int) {
        let (seq, listeners) = state.withLockedValue { state -> (Int?, [@Sendable (Event) -> Void]) in
            guard let index = state.held.firstIndex(where: { $0.message.conn == conn && $0.message.hold == hold }) else { return (nil, []) }
            return (state.held.remove(at: index).seq, Array(state.listeners.values))
        }
        guard let seq else { return }
        for listener in listeners { listener(.settled(seq: seq)) }
    }

    var heldMessages: [Held] { state.withLockedValue { $0.held } }

    func heldMessage(seq: Int) -> Held? { state.withLockedValue { state in state.held.first { $0.seq == seq } } }

    var isLoading: Bool {
        get { state.withLockedValue { $0.loading } }
        set { state.withLockedValue { $0.loading = newValue } }
    }

    var connections: [Connection] {
        state.withLockedValue { state in state.order.compactMap { state.connections[$0] } }
    }

    /// Records after `after` (a seq), in order, that pass `conn` and `filter`: at most `limit`.
    func items(conn: String?, filter: MessageFilter?, after: Int, limit: Int) -> [Item] {
        state.withLockedValue { state in
            var out: [Item] = []
            for item in state.items[Self.position(of: after + 1, in: state.items)...] where item.record.dir != nil {
                if let conn, item.record.conn != conn { continue }
                if let filter, !filter.matches(item.record, violations: item.violations) { continue }
                out.append(item)
                if out.count == limit { break }
            }
            return out
        }
    }

    func item(seq: Int) -> Item? {
        state.withLockedValue { state in
            let at = Self.position(of: seq, in: state.items)
            return at < state.items.count && state.items[at].seq == seq ? state.items[at] : nil
        }
    }

    /// Where the first item with at least this `seq` is (items are kept in seq order).
    private static func position(of seq: Int, in items: [Item]) -> Int {
        var low = 0, high = items.count
        while low < high {
            let mid = (low + high) / 2
            if items[mid].seq < seq { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// A connection's `open` record, and the answers (same `id`, from the server) to one of its requests.
    func open(conn: String) -> CaptureRecord? {
        state.withLockedValue { state in state.items.first { $0.record.conn == conn && $0.record.kind == .open }?.record }
    }

    func answers(conn: String, id: String) -> [Item] {
        state.withLockedValue { state in
            state.items.filter { $0.record.conn == conn && $0.record.dir == .s2c && ProxyConnection.id(of: $0.record) == id }
        }
    }

    /// Every record in order (for `/api/capture`), open and end records included.
    func allRecords(filter: MessageFilter?) -> [CaptureRecord] {
        state.withLockedValue { state in
            state.items.filter { item in
                item.record.dir == nil || filter.map { $0.matches(item.record, violations: item.violations) } ?? true
            }.map(\.record)
        }
    }

    func violations(filter: MessageFilter?, limit: Int?) -> [Violation] {
        state.withLockedValue { state in
            guard let filter else { return limit.map { Array(state.violations.prefix($0)) } ?? state.violations }
            var out: [Violation] = []
            for item in state.items where !item.violations.isEmpty && filter.matches(item.record, violations: item.violations) {
                out += item.violations
                if let limit, out.count >= limit { return Array(out.prefix(limit)) }
            }
            return out
        }
    }

    /// Calls `listener` for everything added from now on; returns a number for `unsubscribe`.
    func subscribe(_ listener: @escaping @Sendable (Event) -> Void) -> Int {
        state.withLockedValue { state in
            state.nextListener += 1
            state.listeners[state.nextListener] = listener
            return state.nextListener
        }
    }

    func unsubscribe(_ id: Int) {
        _ = state.withLockedValue { $0.listeners.removeValue(forKey: id) }
    }
}

import NIOConcurrencyHelpers

/// What the web inspector shows: every record of the proxy's traffic or of the captures opened, in
/// order, each with a `seq`, the violations found on it, and the connections they belong to. Fed
/// by one writer (the proxy's `SinkWriter`, or the loader of `basetap view`); read by the server.
///
/// A million messages must fit: a record is kept as a small fixed entry plus its timestamp and
/// payload bytes in a `ByteArena`, and made whole again when asked for. The few records that do
/// not fit that shape (opens, closes, fragmented or marked messages) are kept whole.
final class InspectorStore: InspectionSink {
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
        var messages = PerDirection(repeating: 0)
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
        /// A capture has been read to its end (while it is read, no event is sent for each record).
        case loaded(records: Int)
    }

    /// One record, compact. Its bytes (timestamp, then payload) are `span` in the arena; a message
    /// that crossed in one frame keeps that frame's few facts here.
    private struct Entry {
        var seq: Int
        var span: ByteArena.Span
        var conn: Int32
        var index: Int32
        var frameLength: Int32
        var tsLength: UInt8
        var dir: Direction?
        var kind: CaptureRecord.Kind
        var frameRSV: UInt8
        var frameMasked: Bool
        /// The record did not fit the compact shape: `whole` has it.
        var isWhole: Bool
    }

    /// Which messages a timeline (a connection, a filter) shows, in order, kept up to date as
    /// records come, so that any position in it is one lookup away.
    private struct Selection {
        var conn: Int32?
        var filter: MessageFilter?
        var seqs: [Int] = []
        /// The next seq to look at.
        var next = 0
        var used = 0
    }

    private struct MessageKey: Hashable {
        var conn: Int32
        var dir: Direction
        var index: Int
    }

    private struct State {
        var entries: [Entry] = []
        var arena = ByteArena()
        var whole: [Int: CaptureRecord] = [:]
        var connections: [Connection] = []
        var connectionNumber: [String: Int32] = [:]
        var opens: [Int32: CaptureRecord] = [:]
        var violations: [Violation] = []
        var violationsOf: [Int: [Violation]] = [:]
        /// Per connection and direction, the seq of each message by index (from `messageBase` on).
        var messageSeqs: [Int32: PerDirection<[Int]>] = [:]
        var messageBase: [Int32: PerDirection<Int>] = [:]
        /// Violations of a message not recorded yet (wire findings come before their message).
        var waiting: [MessageKey: [Violation]] = [:]
        var selections: [Selection] = []
        var selectionUse = 0
        var held: [Held] = []
        var nextSeq = 1
        var listeners: [Int: @Sendable (Event) -> Void] = [:]
        var nextListener = 0
        var loading = false
    }

    private let state = NIOLockedValueBox(State())
    /// Most records kept for a live proxy; the oldest go first. Captures opened with `view` keep all.
    let limit: Int?

    /// Records kept for a live proxy (`proxy --ui`).
    static let liveLimit = 1_000_000

    init(limit: Int? = nil) {
        self.limit = limit
    }

    func add(_ record: CaptureRecord) {
        let (events, listeners) = state.withLockedValue { state -> ([Event], [@Sendable (Event) -> Void]) in
            var events: [Event] = []
            let seq = state.nextSeq
            state.nextSeq += 1
            let conn = Self.number(of: record.conn, in: &state)
            var item = Item(seq: seq, record: record)
            let c = Int(conn)
            switch record.kind {
            case .open:
                state.connections[c].client = record.client
                state.connections[c].server = record.server
                state.connections[c].url = record.url
                state.opens[conn] = record
            case .end:
                state.connections[c].open = false
            case .text, .binary:
                guard let dir = record.dir else { break }
                let index = state.messageBase[conn]![dir] + state.messageSeqs[conn]![dir].count
                state.messageSeqs[conn]![dir].append(seq)
                state.connections[c].messages[dir] += 1
                item.index = index
                if let early = state.waiting.removeValue(forKey: MessageKey(conn: conn, dir: dir, index: index)) {
                    item.violations = early
                    state.violationsOf[seq] = early
                }
            case .ping, .pong, .close:
                break
            }
            Self.keep(record, seq: seq, conn: conn, index: item.index, in: &state)
            if let limit, state.entries.count > limit { Self.evict(&state, keeping: limit) }
            guard !state.loading else { return ([], []) }
            events.append(.item(item))
            if record.kind == .open || record.kind == .end { events.append(.connection(state.connections[c])) }
            return (events, Array(state.listeners.values))
        }
        for event in events { for listener in listeners { listener(event) } }
    }

    private static func number(of conn: String, in state: inout State) -> Int32 {
        if let known = state.connectionNumber[conn] { return known }
        let number = Int32(state.connections.count)
        state.connectionNumber[conn] = number
        state.connections.append(Connection(id: conn))
        state.messageSeqs[number] = PerDirection(repeating: [])
        state.messageBase[number] = PerDirection(repeating: 0)
        return number
    }

    /// Keeps a record as an entry, compact when it can be made again exactly from one.
    private static func keep(_ record: CaptureRecord, seq: Int, conn: Int32, index: Int?, in state: inout State) {
        let ts = record.ts.utf8
        let frame = record.frames?.count == 1 ? record.frames![0] : nil
        var entry = Entry(
            seq: seq, span: ByteArena.Span(block: 0, offset: 0, count: 0), conn: conn, index: Int32(index ?? -1),
            frameLength: frame.map { Int32(clamping: $0.length) } ?? -1, tsLength: UInt8(clamping: ts.count),
            dir: record.dir, kind: record.kind, frameRSV: frame?.rsv ?? 0, frameMasked: frame?.masked ?? false, isWhole: false)
        var compact = CaptureRecord(ts: record.ts, conn: record.conn, dir: record.dir, kind: record.kind, payload: record.payload)
        compact.frames = frame.map { [Self.frame(of: entry, length: $0.length)] }
        if ts.count > 255 || record.payload.count > Int(Int32.max) / 2 || compact != record {
            entry.isWhole = true
            state.whole[seq] = record
        } else {
            entry.span = state.arena.append(ts, record.payload)
        }
        state.entries.append(entry)
    }

    private static func frame(of entry: Entry, length: Int) -> CaptureRecord.Frame {
        let opcode: WebSocketOpcode = switch entry.kind {
        case .text: .text
        case .binary: .binary
        case .ping: .ping
        case .pong: .pong
        case .close, .open, .end: .close
        }
        return CaptureRecord.Frame(fin: true, opcode: opcode.rawValue, rsv: entry.frameRSV, length: length, masked: entry.frameMasked)
    }

    private static func record(_ entry: Entry, _ state: State) -> CaptureRecord {
        if entry.isWhole { return state.whole[entry.seq]! }
        let bytes = state.arena.bytes(entry.span)
        let split = bytes.startIndex + Int(entry.tsLength)
        var record = CaptureRecord(
            ts: String(decoding: bytes[..<split], as: UTF8.self), conn: state.connections[Int(entry.conn)].id,
            dir: entry.dir, kind: entry.kind, payload: Array(bytes[split...]))
        if entry.frameLength >= 0 { record.frames = [frame(of: entry, length: Int(entry.frameLength))] }
        return record
    }

    private static func item(_ entry: Entry, _ state: State) -> Item {
        Item(seq: entry.seq, record: record(entry, state), index: entry.index < 0 ? nil : Int(entry.index),
             violations: state.violationsOf[entry.seq] ?? [])
    }

    /// Whether a filter passes an entry, looking at its bytes only when the filter needs them.
    private static func passes(_ entry: Entry, _ filter: MessageFilter, _ state: State) -> Bool {
        let violations = state.violationsOf[entry.seq] ?? []
        if entry.isWhole { return filter.matches(state.whole[entry.seq]!, violations: violations) }
        let bytes = state.arena.bytes(entry.span)
        return filter.matches(
            conn: state.connections[Int(entry.conn)].id, dir: entry.dir, kind: entry.kind,
            payload: { Array(bytes.dropFirst(Int(entry.tsLength))) }, violations: violations)
    }

    private static func evict(_ state: inout State, keeping limit: Int) {
        let drop = state.entries.count - limit + limit / 4
        for entry in state.entries[..<drop] {
            if entry.isWhole { state.whole[entry.seq] = nil }
            state.violationsOf[entry.seq] = nil
        }
        state.entries.removeFirst(drop)
        guard let first = state.entries.first else { return }
        if let kept = state.entries.first(where: { !$0.isWhole }) { state.arena.drop(before: kept.span) }
        for conn in state.messageSeqs.keys {
            for dir in Direction.allCases {
                let gone = position(of: first.seq, in: state.messageSeqs[conn]![dir]) { $0 }
                state.messageSeqs[conn]![dir].removeFirst(gone)
                state.messageBase[conn]![dir] += gone
            }
        }
        for i in state.selections.indices {
            state.selections[i].seqs.removeFirst(position(of: first.seq, in: state.selections[i].seqs) { $0 })
        }
    }

    func add(_ violation: Violation) {
        let listeners = state.withLockedValue { state -> [@Sendable (Event) -> Void] in
            state.violations.append(violation)
            let conn = Self.number(of: violation.conn, in: &state)
            if violation.severity == .error { state.connections[Int(conn)].errors += 1 } else { state.connections[Int(conn)].warnings += 1 }
            if let dir = violation.dir, let index = violation.index, let seqs = state.messageSeqs[conn]?[dir] {
                let at = index - state.messageBase[conn]![dir]
                if at >= seqs.count {
                    state.waiting[MessageKey(conn: conn, dir: dir, index: index), default: []].append(violation)
                } else if at >= 0 {
                    state.violationsOf[seqs[at], default: []].append(violation)
                    Self.recheck(seqs[at], in: &state)
                }
            }
            return state.loading ? [] : Array(state.listeners.values)
        }
        for listener in listeners { listener(.violation(violation)) }
    }

    /// A violation that came after its message was looked at can change what a filter on rules
    /// or severities says of it.
    private static func recheck(_ seq: Int, in state: inout State) {
        guard let entry = find(seq, state) else { return }
        for i in state.selections.indices {
            guard let filter = state.selections[i].filter, filter.needsViolations, seq < state.selections[i].next else { continue }
            if let conn = state.selections[i].conn, conn != entry.conn { continue }
            let at = position(of: seq, in: state.selections[i].seqs) { $0 }
            let listed = at < state.selections[i].seqs.count && state.selections[i].seqs[at] == seq
            switch (listed, passes(entry, filter, state)) {
            case (false, true): state.selections[i].seqs.insert(seq, at: at)
            case (true, false): state.selections[i].seqs.remove(at: at)
            default: break
            }
        }
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

    /// How many records have been added so far.
    var records: Int { state.withLockedValue { $0.nextSeq - 1 } }

    var isLoading: Bool {
        get { state.withLockedValue { $0.loading } }
        set {
            let (listeners, records) = state.withLockedValue { state in
                defer { state.loading = newValue }
                return (state.loading && !newValue ? Array(state.listeners.values) : [], state.nextSeq - 1)
            }
            for listener in listeners { listener(.loaded(records: records)) }
        }
    }

    var connections: [Connection] { state.withLockedValue { $0.connections } }

    /// The seqs of what the timeline of `conn` (all connections when nil) through `filter` shows,
    /// brought up to date.
    private static func timeline(_ state: inout State, conn: String?, filter: MessageFilter?) -> [Int] {
        let number: Int32?
        if let conn {
            guard let known = state.connectionNumber[conn] else { return [] }
            number = known
        } else {
            number = nil
        }
        state.selectionUse += 1
        var at = state.selections.firstIndex { $0.conn == number && $0.filter?.description == filter?.description }
        if at == nil {
            // A few timelines are kept (the page's, the last few filters typed); the least used goes.
            if state.selections.count >= 4, let oldest = state.selections.indices.min(by: { state.selections[$0].used < state.selections[$1].used }) {
                state.selections.remove(at: oldest)
            }
            state.selections.append(Selection(conn: number, filter: filter, next: state.entries.first?.seq ?? 0))
            at = state.selections.count - 1
        }
        var selection = state.selections[at!]
        selection.used = state.selectionUse
        for entry in state.entries[position(of: selection.next, in: state.entries, by: \.seq)...] where entry.dir != nil {
            if let number, entry.conn != number { continue }
            if let filter, !passes(entry, filter, state) { continue }
            selection.seqs.append(entry.seq)
        }
        selection.next = state.nextSeq
        state.selections[at!] = selection
        return selection.seqs
    }

    /// Messages (and control frames) after `after` (a seq), in order, that pass `conn` and `filter`: at most `limit`.
    func items(conn: String?, filter: MessageFilter?, after: Int, limit: Int) -> [Item] {
        state.withLockedValue { state in
            let seqs = Self.timeline(&state, conn: conn, filter: filter)
            let from = Self.position(of: after + 1, in: seqs) { $0 }
            return Self.items(seqs[from..<min(seqs.count, from + limit)], state)
        }
    }

    /// A page of a timeline by position: `count` is how many messages it shows in all, `position`
    /// where `seq` is (or would be) in it.
    func page(conn: String?, filter: MessageFilter?, offset: Int, limit: Int, locating seq: Int? = nil) -> (count: Int, position: Int?, items: [Item]) {
        state.withLockedValue { state in
            let seqs = Self.timeline(&state, conn: conn, filter: filter)
            let from = min(max(offset, 0), seqs.count)
            return (seqs.count, seq.map { s in Self.position(of: s, in: seqs) { $0 } }, Self.items(seqs[from..<min(seqs.count, from + limit)], state))
        }
    }

    private static func items(_ seqs: ArraySlice<Int>, _ state: State) -> [Item] {
        seqs.compactMap { find($0, state).map { item($0, state) } }
    }

    func item(seq: Int) -> Item? {
        state.withLockedValue { state in Self.find(seq, state).map { Self.item($0, state) } }
    }

    private static func find(_ seq: Int, _ state: State) -> Entry? {
        let at = position(of: seq, in: state.entries, by: \.seq)
        return at < state.entries.count && state.entries[at].seq == seq ? state.entries[at] : nil
    }

    /// Where the first element with at least this `seq` is (everything is kept in seq order).
    private static func position<T>(of seq: Int, in elements: [T], by key: (T) -> Int) -> Int {
        var low = 0, high = elements.count
        while low < high {
            let mid = (low + high) / 2
            if key(elements[mid]) < seq { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// A connection's `open` record.
    func open(conn: String) -> CaptureRecord? {
        state.withLockedValue { state in state.connectionNumber[conn].flatMap { state.opens[$0] } }
    }

    /// The answers (same `id`, from the server) to one of a connection's requests.
    func answers(conn: String, id: String) -> [Item] {
        state.withLockedValue { state in
            guard let number = state.connectionNumber[conn] else { return [] }
            return state.entries.filter { $0.conn == number && $0.dir == .s2c && $0.kind == .text }
                .map { Self.item($0, state) }
                .filter { Envelope.peek($0.record.payload)?.id == id }
        }
    }

    /// Every record in order (for `/api/capture`), open and end records included.
    func allRecords(filter: MessageFilter?) -> [CaptureRecord] {
        state.withLockedValue { state in
            state.entries.filter { entry in entry.dir == nil || filter.map { Self.passes(entry, $0, state) } ?? true }
                .map { Self.record($0, state) }
        }
    }

    func violations(filter: MessageFilter?, limit: Int?) -> [Violation] {
        state.withLockedValue { state in
            guard let filter else { return limit.map { Array(state.violations.prefix($0)) } ?? state.violations }
            var out: [Violation] = []
            for entry in state.entries where state.violationsOf[entry.seq] != nil && Self.passes(entry, filter, state) {
                out += state.violationsOf[entry.seq]!
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

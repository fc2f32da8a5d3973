/// Checks a stream of capture records, connection by connection, and hands every violation to a sink.
/// JSONL captures, pcap captures and the live proxy all enter here.
public struct CaptureChecker {
    private struct Connection {
        var chain: ChainTracker
        var nextIndex = PerDirection(repeating: 0)
    }

    public let options: CheckOptions
    public private(set) var summary = CheckSummary()
    private var messageChecker: MessageChecker
    private var connections: [String: Connection] = [:]
    /// The connection of the last message and its slot: the next message is often on the same one.
    /// Forgotten whenever a connection is added or removed, which moves the slots.
    private var lastSlot: (conn: String, slot: Dictionary<String, Connection>.Index)?
    private let sink: (Violation) throws -> Void

    public init(options: CheckOptions = CheckOptions(), sink: @escaping (Violation) throws -> Void) {
        self.options = options
        self.sink = sink
        messageChecker = MessageChecker(maxDepth: options.maxDepth, profile: options.profile)
    }

    /// Consumes one record of a JSONL capture.
    public mutating func consume(_ line: CaptureLine) throws {
        guard !line.isRaw else { return }  // bytes as sent, not a message
        // A decoder reports invalid UTF-8 in a text message as it assembles the frames; a JSONL
        // record kept as base64 was never through one, so it is reported here, the same rule. (One
        // kept as a JSON string is valid UTF-8, or the line would not have been read.)
        if line.kind == .text, line.payloadIsBase64, let dir = line.dir, let bad = UTF8Scan.firstInvalid(line.payload) {
            try reportWire(conn: line.conn, dir: dir, rule: .wsInvalidUTF8, message: MessageAssembler.invalidUTF8(at: bad), offset: nil)
        }
        try consume(conn: line.conn, dir: line.dir, kind: line.kind, payload: line.payload, quotes: line.payloadQuotes)
    }

    public mutating func consume(_ record: CaptureRecord) throws {
        guard !record.raw else { return }
        try record.payload.withUnsafeBytes { try consume(conn: record.conn, dir: record.dir, kind: record.kind, payload: $0) }
    }

    /// `quotes`: where the payload's quotes are, when known (`CaptureLine.payloadQuotes`).
    public mutating func consume(
        conn: String, dir: Direction?, kind: CaptureRecord.Kind, payload: UnsafeRawBufferPointer,
        quotes: UnsafeBufferPointer<Int32>? = nil
    ) throws {
        summary.records += 1
        switch kind {
        case .open:
            if connections[conn] == nil { open(conn) }
        case .end:
            if let connection = connections.removeValue(forKey: conn) {
                lastSlot = nil
                summary.chainEvicted += connection.chain.evicted
            }
        case .text, .binary:
            guard let dir else { return }
            try checkMessage(conn: conn, dir: dir, binary: kind == .binary, payload: payload, quotes: quotes)
        case .ping, .pong, .close:
            break
        }
    }

    private mutating func open(_ conn: String) {
        connections[conn] = Connection(chain: ChainTracker(limit: options.maxOpenIDs))
        lastSlot = nil
        summary.connections += 1
    }

    private mutating func checkMessage(
        conn: String, dir: Direction, binary: Bool, payload: UnsafeRawBufferPointer, quotes: UnsafeBufferPointer<Int32>?
    ) throws {
        summary.messages += 1
        let envelope = messageChecker.check(payload, binary: binary, quotes: quotes)
        // At most one hash lookup per message; the connection is then reached by index.
        let slot: Dictionary<String, Connection>.Index
        if let last = lastSlot, last.conn == conn {
            slot = last.slot
        } else {
            slot = connections.index(forKey: conn) ?? {
                open(conn)
                return connections.index(forKey: conn)!
            }()
            lastSlot = (conn, slot)
        }
        // Changed in place: reading the connection through the subscript would copy it, chain and all.
        let index = Self.take(&connections.values[slot].nextIndex[dir])
        for finding in messageChecker.findings {
            try report(finding, conn: conn, dir: dir, index: index, envelope: envelope)
        }
        if let id = envelope.id, let type = envelope.type, !id.isEmpty, !type.isEmpty,
            let finding = connections.values[slot].chain.observe(dir, id: id, type: type)
        {
            try report(finding, conn: conn, dir: dir, index: index, envelope: envelope)
        }
    }

    private static func take(_ counter: inout Int) -> Int {
        defer { counter += 1 }
        return counter
    }

    private mutating func report(
        _ finding: Finding, conn: String, dir: Direction, index: Int, envelope: MessageChecker.Envelope
    ) throws {
        if let rules = options.rules, !rules.contains(finding.rule.id) { return }
        let violation = Violation(
            conn: conn, dir: dir, index: index, rule: finding.rule, severity: finding.severity, pointer: finding.pointer,
            message: finding.message, type: envelope.type, id: envelope.id)
        summary.count(violation)
        try sink(violation)
    }

    /// Reports a finding of the wire (frames, TCP) through the same filter and counts; its index is
    /// that of the message the frame belongs to.
    public mutating func reportWire(conn: String, dir: Direction, rule: Rule, message: String, offset: Int?) throws {
        if let rules = options.rules, !rules.contains(rule.id) { return }
        let index = connections[conn]?.nextIndex[dir]
        let violation = Violation(conn: conn, dir: dir, index: index, rule: rule, pointer: "", message: message, offset: offset)
        summary.count(violation)
        try sink(violation)
    }

    /// Ends the run: connections never closed by an `end` record still count their evictions.
    public mutating func finish() {
        for connection in connections.values { summary.chainEvicted += connection.chain.evicted }
        connections.removeAll()
        lastSlot = nil
    }
}

/// Which way a message went.
public enum Direction: String, Sendable, CaseIterable {
    case c2s, s2c

    public var opposite: Direction { self == .c2s ? .s2c : .c2s }
    /// The peer that sends in this direction, as sentences name it.
    public var sender: String { self == .c2s ? "client" : "server" }
}

/// One finding, as PROTOCOL.md §7 records it.
public struct Violation: Sendable, Equatable {
    public var conn: String
    public var dir: Direction?
    /// 0-based message number within the connection and direction.
    public var index: Int?
    public var rule: Rule
    public var severity: Severity
    /// RFC 6901 pointer into the message; `""` is the whole message.
    public var pointer: String
    public var message: String
    public var type: String?
    public var id: String?
    /// Byte offset of the frame within the connection's stream (WebSocket-level findings).
    public var offset: Int?

    public init(
        conn: String, dir: Direction?, index: Int?, rule: Rule, severity: Severity? = nil, pointer: String,
        message: String, type: String? = nil, id: String? = nil, offset: Int? = nil
    ) {
        self.conn = conn
        self.dir = dir
        self.index = index
        self.rule = rule
        self.severity = severity ?? rule.severity
        self.pointer = pointer
        self.message = message
        self.type = type
        self.id = id
        self.offset = offset
    }
}

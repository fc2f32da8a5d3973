/// One way a replayed session's answers differ from the recorded ones.
public struct Difference: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// The recording had an answer for this id; the new session has none.
        case missingAnswer = "missing-answer"
        /// The new session has an answer for this id that the recording did not.
        case extraAnswer = "extra-answer"
        /// The answer's `type` changed (e.g. an answer became an `:error`).
        case type
        /// The answer's `ok` changed.
        case ok
        /// Some other member of the answer changed, at `pointer`.
        case value
        /// Messages the server sent on its own (no id of a request): counts per type changed.
        case unsolicited
        /// The server's close code, or how the connection ended, changed.
        case close
        /// The connection could not be replayed at all.
        case failure
    }

    public var conn: String
    public var kind: Kind
    /// The request id the answer belongs to, when it has one.
    public var id: String?
    /// The answer's type (the recorded one when both exist).
    public var type: String?
    /// Where in the answer (RFC 6901), for type, ok and value differences.
    public var pointer: String?
    /// The recorded and the new value as JSON text (nil when absent).
    public var recorded: String?
    public var now: String?
    /// One readable sentence.
    public var detail: String

    public init(conn: String, kind: Kind, id: String? = nil, type: String? = nil, pointer: String? = nil,
                recorded: String? = nil, now: String? = nil, detail: String) {
        self.conn = conn
        self.kind = kind
        self.id = id
        self.type = type
        self.pointer = pointer
        self.recorded = recorded
        self.now = now
        self.detail = detail
    }
}

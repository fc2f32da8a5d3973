/// One line of a JSONL capture (CAPTURE-FORMAT.md, version 1).
public struct CaptureRecord: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case open, text, binary, ping, pong, close, end

        /// Data and control kinds carry a direction; `open` and `end` belong to the connection.
        public var hasDirection: Bool { self != .open && self != .end }
        public var isMessage: Bool { self == .text || self == .binary }

        /// The record of a message or control frame with this opcode (a continuation is part of a message).
        public init(_ opcode: WebSocketOpcode) {
            switch opcode {
            case .text: self = .text
            case .binary, .continuation: self = .binary
            case .close: self = .close
            case .ping: self = .ping
            case .pong: self = .pong
            }
        }
    }

    /// How a message crossed the wire, frame by frame.
    public typealias Frame = FrameInfo

    /// What a fuzz run changed in this message.
    public struct Mutation: Sendable, Equatable {
        public var seed: UInt64
        public var ops: [String]

        public init(seed: UInt64, ops: [String]) {
            self.seed = seed
            self.ops = ops
        }
    }

    /// What a fuzz finding's capture reproduces, on its `open` record: `basetap replay` checks
    /// whether the server still fails this way.
    public struct FindingMark: Sendable, Hashable {
        public var oracle: String
        public var symptom: String
        public var detail: String

        public init(oracle: String, symptom: String, detail: String) {
            self.oracle = oracle
            self.symptom = symptom
            self.detail = detail
        }
    }

    public typealias Header = HTTPHeader

    public var ts: String
    public var conn: String
    public var dir: Direction?
    public var kind: Kind
    /// The message or control payload: UTF-8 for text (written as `text`, or as `base64` when not valid UTF-8).
    public var payload: [UInt8] = []
    public var code: Int?
    public var reason: String?
    public var url: String?
    public var headers: [Header]?
    public var subprotocol: String?
    public var extensions: String?
    public var client: String?
    public var server: String?
    public var frames: [Frame]?
    public var error: String?
    public var mutation: Mutation?
    /// The payload is bytes the client sent as they are, not a message: frames a fuzz operator built
    /// that never completed (a length announcing more than came) and what followed them.
    public var raw = false
    /// On `open`: the upgrade request exactly as sent, when it was not an ordinary one (a
    /// handshake fuzz case); replay sends it as it is.
    public var request: String?
    public var finding: FindingMark?
    /// Set when message-level control in the proxy changed what the receiver got.
    public var control: ControlMark?

    public enum ControlMark: String, Sendable, CaseIterable {
        /// The sender sent it; basetap dropped it and the receiver never got it.
        case dropped
        /// The sender sent it; the receiver got the `edited` record that follows instead.
        case replaced
        /// What the receiver got in place of the `replaced` record before it.
        case edited
        /// basetap sent it; the other side never did.
        case injected
        /// Sent as the sender sent it, but re-framed (and re-compressed) by basetap, as is every later
        /// message of this direction: an earlier change broke byte-for-byte relaying.
        case reencoded
    }
    /// Members this version does not know, kept in order so that copying a record loses nothing.
    public var unknown: [JSONValue.Member] = []

    public init(ts: String, conn: String, dir: Direction? = nil, kind: Kind, payload: [UInt8] = []) {
        self.ts = ts
        self.conn = conn
        self.dir = dir
        self.kind = kind
        self.payload = payload
    }

    public static func text(_ text: String, conn: String, dir: Direction, ts: String = CaptureTime.now()) -> CaptureRecord {
        CaptureRecord(ts: ts, conn: conn, dir: dir, kind: .text, payload: Array(text.utf8))
    }

    /// The payload as text, when it is valid UTF-8.
    public var text: String? {
        UTF8Scan.isValid(payload) ? String(decoding: payload, as: UTF8.self) : nil
    }
}

import NIOCore

/// How `basetap replay` (and the fuzzer, which replays mutated sessions) talks to the target.
public struct ReplayOptions: Sendable {
    public enum Pace: Sendable, Equatable {
        /// The recorded gaps between sends, divided by `speed` (`x2` is speed 2).
        case recorded(speed: Double)
        /// As fast as the connection takes them.
        case fast
    }

    public var target: ProxyTarget
    /// A path (and query) given with the target replaces the recorded one.
    public var path: String?
    public var pace = Pace.recorded(speed: 1)
    /// Seconds to wait for an answer, for the server's close, and for a connection to open.
    public var timeout = 5.0
    /// Before each send, wait for the answer to the previous request (by `id`).
    public var waitAnswers = false
    /// Give up on a connection as soon as an awaited answer times out, instead of closing politely
    /// and waiting for the server's Close too: the fuzzer has its verdict (a hang) by then.
    public var abandonUnanswered = false
    /// Added to the recorded request headers, replacing any of the same name (`--header`).
    public var headers: [CaptureRecord.Header] = []
    public var tls = UpstreamTLS()
    public var limits = InflateLimits()

    public init(target: ProxyTarget) {
        self.target = target
    }

    /// Parses `--pace`: `recorded`, `fast`, or `xN` (N times the recorded speed).
    public static func pace(_ text: String) throws -> Pace {
        switch text {
        case "recorded": return .recorded(speed: 1)
        case "fast": return .fast
        default:
            guard text.hasPrefix("x"), let speed = Double(text.dropFirst()), speed > 0, speed.isFinite else {
                throw BasetapError.usage("--pace must be 'recorded', 'fast' or xN (x2 = twice the recorded speed), not '\(text)'")
            }
            return .recorded(speed: speed)
        }
    }

    var timeoutAmount: TimeAmount { .nanoseconds(Int64(timeout * 1e9)) }
}

/// What happened on one replayed connection.
public struct ReplayOutcome: Sendable {
    public var conn: String
    /// The new session, decoded like any capture: open, every message and control frame both ways, end.
    public var records: [CaptureRecord] = []
    public var messagesSent = 0
    /// Request ids the recording answered that got no answer within the timeout.
    public var unanswered: [String] = []
    /// Nanoseconds from each request to its first answer, by id.
    public var latencies: [String: Int64] = [:]
    /// The connection or the upgrade failed: nothing was replayed.
    public var failure: String?
    /// The failure was reaching the target at all (refused, unreachable, no TCP within the timeout).
    public var unreachable = false
    /// The connection ended without a closing handshake (a reset, an EOF, a timeout), with why.
    public var abnormalEnd: String?
    /// The server neither closed nor answered the client's Close within the timeout.
    public var timedOut = false
    /// The server closed before the client's own close was sent.
    public var closedByServer = false
    /// RFC 6455 breaches on the wire (`ws.*`), for the checker.
    public var wire: [WireFinding] = []
    /// When the connection was started and when it was over (`CaptureTime.nanoseconds()`): which
    /// connections were open when a server died.
    public var startedAt: Int64 = 0
    public var endedAt: Int64 = 0

    public init(conn: String) {
        self.conn = conn
    }
}

/// A `ws.*` finding of the decoder, kept until the session is checked.
public struct WireFinding: Sendable {
    public var dir: Direction
    public var rule: Rule
    public var message: String
    public var offset: Int
    /// How many records the session had when it was found: it is checked before the next one.
    public var atRecord: Int
}

extension ReplayOutcome {
    /// Hands the session to `checker` in the order it happened, each wire finding before the record
    /// that followed it (so it names the message it belongs to, as live checking does); `each`
    /// sees every record after it is checked.
    func check(with checker: inout CaptureChecker, each: (CaptureRecord) throws -> Void = { _ in }) throws {
        var pending = wire[...]
        func report(upTo index: Int) throws {
            while let finding = pending.first, finding.atRecord <= index {
                try checker.reportWire(conn: conn, dir: finding.dir, rule: finding.rule, message: finding.message, offset: finding.offset)
                pending = pending.dropFirst()
            }
        }
        for (index, record) in records.enumerated() {
            try report(upTo: index)
            try checker.consume(record)
            try each(record)
        }
        try report(upTo: .max)
    }
}

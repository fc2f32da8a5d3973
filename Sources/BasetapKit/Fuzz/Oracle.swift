/// Decides whether a fuzz case found something, and what: the failure oracles of a run, and the
/// symptom that tells one behaviour of the server from another.
public struct Oracle: Sendable {
    /// Most severe first: the report lists findings in this order.
    public enum Kind: String, Sendable, CaseIterable {
        /// The server process died of the case alone (only with `--exec`).
        case crash
        /// The server process died while these cases ran together, but of none of them alone: a race,
        /// or state built up by several.
        case crashUnconfirmed = "crash-unconfirmed"
        /// The server stopped accepting connections.
        case down
        /// The connection ended without a closing handshake: a reset or an EOF (what RFC 6455 calls 1006).
        case abort
        /// The server closed with 1011 (internal error) or sent the reserved 1006.
        case close1011 = "close-1011"
        /// The probe sent after the mutations got no answer and the server did not close: it hangs.
        case hang
        /// An answer broke an error-level rule of PROTOCOL.md (or the profile).
        case violation
        /// The probe's answer took far longer than the unmutated session's.
        case slow
        /// A seed connection fails without any mutation: reported once, and not blamed on operators.
        case baseline

        var rank: Int { Self.allCases.firstIndex(of: self)! }
    }

    public struct Failure: Sendable, Equatable {
        public var kind: Kind
        public var detail: String
        /// What the server did, as findings are grouped: the oracle, with the rules its answers
        /// broke, its close code or its crash signature; never the operator that got there.
        public var symptom: String

        public init(kind: Kind, detail: String, symptom: String? = nil) {
            self.kind = kind
            self.detail = detail
            self.symptom = symptom ?? kind.rawValue
        }
    }

    /// The symptom of a server's death: deaths are grouped by their crash signature.
    static func crashSymptom(_ signature: String) -> String { "crash " + signature }

    /// Whether a symptom is the server dying or no longer accepting connections (a baseline finding's
    /// symptom can be one).
    static func isDeath(_ symptom: String) -> Bool { symptom.hasPrefix("crash ") || symptom == Kind.down.rawValue }

    public var check = CheckOptions()
    /// Probe latency above which an answer counts as `slow`, in nanoseconds.
    public var slowAfter: Int64 = 2_000_000_000

    public init(check: CheckOptions = CheckOptions(), slowAfter: Int64 = 2_000_000_000) {
        self.check = check
        self.slowAfter = slowAfter
    }

    /// `handshake`: the case broke the upgrade request, which the server may refuse, drop, or
    /// accept and then treat otherwise (another subprotocol, no extension) as it likes; only a
    /// server that cannot be reached at all is a failure then (a death is seen by its process).
    public func judge(_ outcome: ReplayOutcome, handshake: Bool = false) -> Failure? {
        if handshake { return outcome.unreachable ? Failure(kind: .down, detail: outcome.failure ?? "unreachable") : nil }
        if let failure = outcome.failure { return Failure(kind: .down, detail: failure) }
        let close = outcome.records.last { $0.dir == .s2c && $0.kind == .close }
        if let code = close?.code, code == 1011 || code == 1006 {
            return Failure(kind: .close1011, detail: "the server closed with \(code)\(close?.reason.map { " (\($0))" } ?? "")", symptom: "close \(code)")
        }
        if outcome.timedOut || (outcome.unanswered.contains(ReplayConnection.probeID) && close == nil && outcome.abnormalEnd == nil) {
            return Failure(kind: .hang, detail: "no answer to the probe request and no Close within the timeout")
        }
        if let abnormal = outcome.abnormalEnd, close == nil { return Failure(kind: .abort, detail: abnormal) }
        let violations = serverViolations(outcome)
        if let violation = violations.first {
            let rules = Set(violations.map(\.rule.id)).sorted()
            let others = rules.filter { $0 != violation.rule.id }
            return Failure(kind: .violation, detail: "\(violation.rule.id) at \(violation.pointer.isEmpty ? "\"\"" : violation.pointer): \(violation.message)"
                               + (others.isEmpty ? "" : " (and \(others.joined(separator: ", ")))"),
                           symptom: "violation " + rules.joined(separator: ","))
        }
        if let latency = outcome.latencies[ReplayConnection.probeID], latency > slowAfter {
            return Failure(kind: .slow, detail: "the probe was answered after \(latency / 1_000_000) ms")
        }
        return nil
    }

    /// Error-level findings in what the server sent.
    func serverViolations(_ outcome: ReplayOutcome) -> [Violation] {
        var found: [Violation] = []
        var checker = CaptureChecker(options: check) { violation in
            if violation.dir == .s2c && violation.severity == .error { found.append(violation) }
        }
        try? outcome.check(with: &checker)
        return found
    }
}

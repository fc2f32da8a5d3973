/// Counts of a checking run, for the summary lines and the exit code.
public struct CheckSummary: Sendable, Equatable {
    public var records = 0
    public var messages = 0
    public var connections = 0
    public var errors = 0
    public var warnings = 0
    /// Counts by rule and the severity it was reported with (a profile can change a rule's).
    public var byRule: [RuleCount: Int] = [:]

    public struct RuleCount: Sendable, Hashable, Comparable {
        public var id: String
        public var severity: Severity

        public static func < (a: RuleCount, b: RuleCount) -> Bool { (a.id, a.severity.rawValue) < (b.id, b.severity.rawValue) }
    }
    /// Malformed capture lines skipped with `--skip-bad-lines`.
    public var badLines = 0
    /// Requests forgotten because a connection had more open ids than the limit.
    public var chainEvicted = 0
    /// Capture files that ended in damage (checked up to it).
    public var damagedFiles = 0

    public init() {}

    mutating func count(_ violation: Violation) {
        if violation.severity == .error { errors += 1 } else { warnings += 1 }
        byRule[RuleCount(id: violation.rule.id, severity: violation.severity), default: 0] += 1
    }

    /// Whether any finding reaches `threshold`.
    public func fails(at threshold: Severity) -> Bool {
        damagedFiles > 0 || (threshold == .warning ? errors + warnings > 0 : errors > 0)
    }

    public static func + (a: CheckSummary, b: CheckSummary) -> CheckSummary {
        var sum = a
        sum.records += b.records
        sum.messages += b.messages
        sum.connections += b.connections
        sum.errors += b.errors
        sum.warnings += b.warnings
        sum.badLines += b.badLines
        sum.chainEvicted += b.chainEvicted
        sum.damagedFiles += b.damagedFiles
        sum.byRule.merge(b.byRule, uniquingKeysWith: +)
        return sum
    }
}

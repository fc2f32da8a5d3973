/// `check --filter`: only the violations the filter matches are reported and counted. The filter
/// sees each violation with its message (so `dir:s2c type:chat.*` picks messages and `rule:id.*`
/// picks violations); wire findings about a message's frames come before it, so violations wait
/// until their message has been checked.
final class FilteredViolations {
    let filter: MessageFilter
    private var pending: [Violation] = []
    private(set) var reported = CheckSummary()
    private let report: (Violation) throws -> Void

    init(filter: MessageFilter, report: @escaping (Violation) throws -> Void) {
        self.filter = filter
        self.report = report
    }

    func found(_ violation: Violation) {
        pending.append(violation)
    }

    /// A record has been checked: a message (or a connection's end) settles what waits.
    func checked(_ record: CaptureRecord) throws {
        guard !pending.isEmpty, record.kind.isMessage || record.kind == .end else { return }
        defer { pending.removeAll() }
        for violation in pending where filter.matches(record, violations: [violation]) {
            reported.count(violation)
            try report(violation)
        }
    }

    /// The run's summary with the counts of what was reported.
    func summary(_ checked: CheckSummary) -> CheckSummary {
        var summary = checked
        summary.errors = reported.errors
        summary.warnings = reported.warnings
        summary.byRule = reported.byRule
        return summary
    }
}

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

extension FilteredViolations {
    /// A checker whose violations go to `report`: every one, or with a filter those it matches,
    /// held by the selection returned until their message has been checked (`checked`).
    static func checker(options: CheckOptions, filter: MessageFilter?, report: @escaping (Violation) throws -> Void) -> (CaptureChecker, FilteredViolations?) {
        let selection = filter.map { FilteredViolations(filter: $0, report: report) }
        let checker = CaptureChecker(options: options) { violation in
            if let selection { selection.found(violation) } else { try report(violation) }
        }
        return (checker, selection)
    }
}

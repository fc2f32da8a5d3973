/// Feeds a decoded pcap into the checker, exactly as JSONL records are fed.
final class CheckingSink: TapSink {
    var checker: CaptureChecker
    let selection: FilteredViolations?

    init(checker: CaptureChecker, selection: FilteredViolations? = nil) {
        self.checker = checker
        self.selection = selection
    }

    func record(_ record: CaptureRecord) throws {
        try checker.consume(record)
        try selection?.checked(record)
    }

    func violation(conn: String, dir: Direction, rule: Rule, message: String, offset: Int) throws {
        try checker.reportWire(conn: conn, dir: dir, rule: rule, message: message, offset: offset)
    }
}

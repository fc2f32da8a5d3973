/// Keeps every record a decoder produces; wire findings are left to `basetap check`.
final class CollectingSink: TapSink {
    var records: [CaptureRecord] = []

    func record(_ record: CaptureRecord) throws { records.append(record) }
    func violation(conn: String, dir: Direction, rule: Rule, message: String, offset: Int) throws {}
}

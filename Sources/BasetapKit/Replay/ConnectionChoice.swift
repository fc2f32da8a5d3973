/// Which recorded connections `replay --conn` plays: each value is a connection's id (`c2`) or a
/// filter of the filter language, which chooses every connection with a message it matches
/// (`type:chat.*`, `severity:error`, `/payload/n > 5`).
public struct ConnectionChoice {
    public let values: [String]

    public init(_ values: [String]) {
        self.values = values
    }

    /// The ids chosen among `records` (nil: all of them).
    public func ids(in records: [CaptureRecord], check: CheckOptions) throws -> Set<String>? {
        guard !values.isEmpty else { return nil }
        let known = Set(records.lazy.map(\.conn))
        var chosen = Set<String>()
        var filters: [MessageFilter] = []
        for value in values {
            if known.contains(value) {
                chosen.insert(value)
                continue
            }
            do {
                filters.append(try MessageFilter(value))
            } catch {
                throw BasetapError.usage("--conn '\(value)': \(error)")
            }
        }
        guard !filters.isEmpty else { return chosen }
        // A rule or severity term sees the violations found while its message was checked.
        var found: [Violation] = []
        var checker = filters.contains(where: \.needsViolations) ? CaptureChecker(options: check) { found.append($0) } : nil
        for record in records {
            try checker?.consume(record)
            guard record.kind.isMessage else { continue }
            if !chosen.contains(record.conn), filters.contains(where: { $0.matches(record, violations: found) }) {
                chosen.insert(record.conn)
            }
            found.removeAll()
        }
        return chosen
    }
}

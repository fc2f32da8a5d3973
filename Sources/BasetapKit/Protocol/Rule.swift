/// How bad a finding is: MUST-level breaches are errors, SHOULD-level and suspicious-but-legal ones warnings.
public enum Severity: String, Sendable, Comparable, CaseIterable {
    case warning, error

    public static func < (a: Severity, b: Severity) -> Bool { a == .warning && b == .error }
}

/// One rule of PROTOCOL.md: its id (what users filter and grep for), its default severity,
/// the section it comes from and a one-line meaning for the rules table.
public struct Rule: Sendable, Hashable, Comparable {
    public let id: String
    public let severity: Severity
    public let section: String
    public let meaning: String

    public init(_ id: String, _ severity: Severity, section: String, _ meaning: String) {
        self.id = id
        self.severity = severity
        self.section = section
        self.meaning = meaning
    }

    public static func < (a: Rule, b: Rule) -> Bool { a.id < b.id }
    public static func == (a: Rule, b: Rule) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// A rule breach inside one message, before it is tied to a connection and direction.
public struct Finding: Sendable, Equatable {
    public var rule: Rule
    public var severity: Severity
    public var pointer: String
    public var message: String

    public init(_ rule: Rule, _ pointer: String, _ message: String, severity: Severity? = nil) {
        self.rule = rule
        self.severity = severity ?? rule.severity
        self.pointer = pointer
        self.message = message
    }
}

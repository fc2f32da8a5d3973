import Foundation

/// How findings are printed: for people, or one JSON object per line for machines.
public enum OutputFormat: String, Sendable, CaseIterable {
    case text, jsonl
}

/// ANSI styling, used only when the output is a terminal (or `--color always`).
public struct Style: Sendable {
    public let enabled: Bool

    public init(enabled: Bool) { self.enabled = enabled }

    /// Colors on a terminal unless `NO_COLOR` is set or the terminal is dumb.
    public static func auto(for output: OutputFile) -> Style {
        let env = ProcessInfo.processInfo.environment
        return Style(enabled: output.isTerminal && env["NO_COLOR"] == nil && env["TERM"] != "dumb")
    }

    public func red(_ s: String) -> String { wrap(s, "1;31") }
    public func yellow(_ s: String) -> String { wrap(s, "33") }
    public func cyan(_ s: String) -> String { wrap(s, "36") }
    public func dim(_ s: String) -> String { wrap(s, "2") }
    public func bold(_ s: String) -> String { wrap(s, "1") }
    public func green(_ s: String) -> String { wrap(s, "32") }

    public func severity(_ severity: Severity) -> String {
        severity == .error ? red("error") : yellow("warning")
    }

    private func wrap(_ s: String, _ code: String) -> String {
        enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
    }
}

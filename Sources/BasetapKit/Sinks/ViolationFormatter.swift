/// Turns violations into lines: PROTOCOL.md §7 JSON records, or one readable line each.
public struct ViolationFormatter: Sendable {
    public let format: OutputFormat
    public let style: Style

    public init(format: OutputFormat, style: Style) {
        self.format = format
        self.style = style
    }

    public func append(_ v: Violation, into out: inout [UInt8]) {
        switch format {
        case .jsonl: Self.appendJSON(v, into: &out)
        case .text: out.append(contentsOf: text(v).utf8)
        }
        out.append(UInt8(ascii: "\n"))
    }

    public func line(_ v: Violation) -> String {
        var out: [UInt8] = []
        append(v, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `c1 c2s[7] error id.syntax /from: <message> (type chat.send, id abcd)`
    public func text(_ v: Violation) -> String {
        var place = v.conn
        if let dir = v.dir { place += " \(dir.rawValue)" }
        if let index = v.index { place += "[\(index)]" }
        if let offset = v.offset { place += " @\(offset)" }
        var context: [String] = []
        if let type = v.type { context.append("type \(type.isEmpty ? "\"\"" : JSONReader.abbreviate(type, limit: 40))") }
        if let id = v.id { context.append("id \(id.isEmpty ? "\"\"" : JSONReader.abbreviate(id, limit: 40))") }
        let suffix = context.isEmpty ? "" : style.dim(" (\(context.joined(separator: ", ")))")
        let pointer = v.pointer.isEmpty ? "\"\"" : v.pointer
        return "\(style.dim(place)) \(style.severity(v.severity)) \(style.cyan(v.rule.id)) \(pointer): \(v.message)\(suffix)"
    }

    public static func appendJSON(_ v: Violation, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"conn":"#.utf8)
        JSONString.encode(v.conn, into: &out)
        if let dir = v.dir { out.append(contentsOf: #","dir":"\#(dir.rawValue)""#.utf8) }
        if let index = v.index { out.append(contentsOf: #","index":\#(index)"#.utf8) }
        out.append(contentsOf: #","rule":"\#(v.rule.id)","severity":"\#(v.severity.rawValue)","pointer":"#.utf8)
        JSONString.encode(v.pointer, into: &out)
        out.append(contentsOf: #","message":"#.utf8)
        JSONString.encode(v.message, into: &out)
        if let type = v.type {
            out.append(contentsOf: #","type":"#.utf8)
            JSONString.encode(type, into: &out)
        }
        if let id = v.id {
            out.append(contentsOf: #","id":"#.utf8)
            JSONString.encode(id, into: &out)
        }
        if let offset = v.offset { out.append(contentsOf: #","offset":\#(offset)"#.utf8) }
        out.append(UInt8(ascii: "}"))
    }

    /// The closing summary: totals, then counts by rule (most frequent first).
    public func summary(_ s: CheckSummary) -> String {
        let errors = Self.count(s.errors, "error")
        let verdict = s.errors > 0 ? style.red(errors) : style.green(errors)
        let warnings = s.warnings > 0 ? style.yellow(Self.count(s.warnings, "warning")) : Self.count(0, "warning")
        let scope = "\(Self.count(s.messages, "message")) in \(Self.count(s.connections, "connection"))"
        var lines = ["\(style.bold("Checked")) \(scope): \(verdict), \(warnings)."]
        let rows = s.byRule.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let width = rows.map(\.key.id.count).max() ?? 0
        for (rule, count) in rows {
            let (id, severity) = (rule.id, rule.severity)
            let label = style.severity(severity) + String(repeating: " ", count: severity == .error ? 2 : 0)
            lines.append("  \(label) \(style.cyan(id))\(String(repeating: " ", count: width - id.count))  \(count)")
        }
        if s.badLines > 0 { lines.append("  \(Self.count(s.badLines, "malformed line")) skipped") }
        if s.chainEvicted > 0 {
            lines.append("  \(s.chainEvicted) requests forgotten past the open-id limit (--max-open-ids); chain rules may miss them")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "1 message", "2 messages".
    public static func count(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }
}

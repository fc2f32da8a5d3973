/// The list of rules in the forms users read it: a terminal table, the README's markdown, JSONL.
public enum RuleTable {
    public static func text() -> String {
        let width = Rule.all.map(\.id.count).max() ?? 0
        return Rule.all.map { rule in
            let pad = String(repeating: " ", count: width - rule.id.count)
            let severity = rule.severity.rawValue + String(repeating: " ", count: 7 - rule.severity.rawValue.count)
            return "\(rule.id)\(pad)  \(severity)  \(source(rule))  \(rule.meaning)\n"
        }.joined()
    }

    public static func markdown() -> String {
        var lines = ["| rule | severity | defined in | meaning |", "|---|---|---|---|"]
        for rule in Rule.all {
            lines.append("| `\(rule.id)` | \(rule.severity.rawValue) | \(source(rule)) | \(rule.meaning) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "§2" for a section of PROTOCOL.md, the document's name otherwise.
    static func source(_ rule: Rule) -> String {
        rule.section.allSatisfy(\.isNumber) ? "§\(rule.section)" : rule.section
    }

    public static func jsonl() -> String {
        Rule.all.map { rule in
            JSONValue.object([
                .init("rule", .string(rule.id)), .init("severity", .string(rule.severity.rawValue)),
                .init("section", .string(rule.section)), .init("meaning", .string(rule.meaning)),
            ]).jsonText + "\n"
        }.joined()
    }
}

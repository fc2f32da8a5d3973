import Foundation
import Yams

/// YAML profiles, turned into the same `JSONValue` a JSON profile gives (member order kept).
enum YAMLDocument {
    static func parse(_ text: String, source: String) throws -> JSONValue {
        // The parser lives until the walk is over: nodes hold their anchors weakly, and only the
        // parser keeps them, so an anchored node is known as one only while it is there.
        let parser: Parser
        let node: Node?
        do {
            parser = try Parser(yaml: text)
            node = try parser.singleRoot()
        } catch let error as YamlError {
            throw BasetapError.input(place: source, message: "not valid YAML or JSON: \(describe(error))")
        } catch {
            throw BasetapError.input(place: source, message: "not valid YAML or JSON: \(error)")
        }
        guard let node else { throw BasetapError.input(place: source, message: "the profile is empty") }
        return try withExtendedLifetime(parser) { try value(node, source: source) }
    }

    private static func describe(_ error: YamlError) -> String {
        String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    }

    private static func value(_ node: Node, source: String) throws -> JSONValue {
        // Yams resolves an alias to its anchor's node: walking them as they come would expand a few
        // lines of nested aliases ("billion laughs") into billions of values.
        if node.anchor != nil { throw anchorRefused(node, source) }
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.description) {
            case Tag.Name.null: return .null
            case Tag.Name.bool: return .bool(node.bool ?? false)
            case Tag.Name.int:
                // Yams traps on a base-60 integer (`1:30`) that overflows Int, so those are computed here.
                guard scalar.string.contains(":") else { return .number(node.int.map(String.init) ?? scalar.string) }
                guard let n = sexagesimal(scalar.string) else {
                    throw BasetapError.input(place: place(node, source), message: "\(scalar.string) is out of range for an integer")
                }
                return .number(String(n))
            case Tag.Name.float:
                guard let d = node.float, d.isFinite else {
                    throw BasetapError.input(place: place(node, source), message: "\(scalar.string) is not a JSON number")
                }
                return .number(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            return .array(try sequence.map { try value($0, source: source) })
        case .mapping(let mapping):
            var members: [JSONValue.Member] = []
            var seen = Set<String>()
            for (key, item) in mapping {
                guard case .scalar(let k) = key else {
                    throw BasetapError.input(place: place(key, source), message: "mapping keys must be strings")
                }
                guard seen.insert(k.string).inserted else {
                    throw BasetapError.input(place: place(key, source), message: "duplicate key \(JSONString.quoted(k.string))")
                }
                members.append(JSONValue.Member(k.string, try value(item, source: source)))
            }
            return .object(members)
        case .alias:
            throw anchorRefused(node, source)  // an alias has its anchor: refused above already
        }
    }

    private static func anchorRefused(_ node: Node, _ source: String) -> BasetapError {
        BasetapError.input(place: place(node, source), message: "YAML anchors and aliases are not supported in profiles")
    }

    /// A YAML 1.1 base-60 integer (`-1:30:00`, underscores allowed), or nil when it overflows Int.
    static func sexagesimal(_ text: String) -> Int? {
        var digits = Substring(text.replacingOccurrences(of: "_", with: ""))
        let negative = digits.first == "-"
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        var total = 0
        for part in digits.split(separator: ":", omittingEmptySubsequences: false) {
            guard let n = Int(part) else { return nil }
            let (shifted, o1) = total.multipliedReportingOverflow(by: 60)
            let (sum, o2) = shifted.addingReportingOverflow(n)
            if o1 || o2 { return nil }
            total = sum
        }
        return negative ? -total : total
    }

    private static func place(_ node: Node, _ source: String) -> String {
        guard let mark = node.mark else { return source }
        return "\(source):\(mark.line):\(mark.column)"
    }
}

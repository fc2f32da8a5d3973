import Foundation

/// What a checking run reports and how much memory it may use.
public struct CheckOptions: Sendable {
    /// Only these rule ids are reported (all when nil).
    public var rules: Set<String>?
    public var maxDepth = JSONReader.defaultMaxDepth
    /// Requests remembered per connection for the §5 rules.
    public var maxOpenIDs = ChainTracker.defaultLimit
    /// Extension schemas and error codes (PROTOCOL.md §6).
    public var profile: Profile?

    public init() {}

    /// Parses `--rules`: comma-separated rule ids, or section prefixes such as `id` or `chain.*`.
    public static func ruleSelection(_ list: String) throws -> Set<String> {
        var selected = Set<String>()
        for item in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let prefix = item.hasSuffix(".*") ? String(item.dropLast(2)) : item
            let matches = Rule.all.filter { $0.id == item || $0.id.hasPrefix(prefix + ".") }
            guard !matches.isEmpty else {
                throw BasetapError.usage("--rules: unknown rule '\(item)' (see 'basetap rules' for the list)")
            }
            selected.formUnion(matches.map(\.id))
        }
        guard !selected.isEmpty else { throw BasetapError.usage("--rules: the list is empty") }
        return selected
    }
}

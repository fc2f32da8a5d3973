/// Schema-aware mutations (with `--profile`): values that just pass and just fail the payload
/// schema of the message's type: bounds, lengths, enums, required members and types.
enum SchemaOperators {
    /// Edits to the payload that sit on either side of one of the schema's limits.
    struct Edit {
        var path: [JSONValue.Step]
        /// The new value, or nil to remove the member.
        var value: JSONValue?
    }

    static func edits(_ schema: CompiledSchema, passing: Bool) -> [Edit] {
        var edits: [Edit] = []
        func visit(_ index: Int, _ path: [JSONValue.Step], depth: Int) {
            guard depth < 8 else { return }
            let node = schema.nodes[index]
            if let ref = node.ref { visit(ref, path, depth: depth + 1) }
            for sub in node.allOf { visit(sub, path, depth: depth + 1) }
            for (name, sub) in node.properties.sorted(by: { $0.key < $1.key }) { visit(sub, path + [.key(name)], depth: depth + 1) }
            if !passing {
                for name in node.required { edits.append(Edit(path: path + [.key(name)], value: nil)) }
                if let types = node.types {
                    let wrong: [(JSONTypeSet, JSONValue)] = [(.string, .string("x")), (.number, .number("1.5")), (.boolean, .bool(true)), (.null, .null), (.array, .array([])), (.object, .object([]))]
                    if let (_, value) = wrong.first(where: { !types.contains($0.0) }) {
                        edits.append(Edit(path: path, value: value))
                    }
                }
            }
            let step = passing ? 0.0 : 1.0
            let integer = node.types?.contains(.integer) ?? false
            let unit = integer ? 1.0 : 0.5
            func number(_ value: Double) -> JSONValue {
                .number(integer || value == value.rounded() ? String(Int64(value)) : String(value))
            }
            if let minimum = node.minimum { edits.append(Edit(path: path, value: number(minimum.double - step * unit))) }
            if let maximum = node.maximum { edits.append(Edit(path: path, value: number(maximum.double + step * unit))) }
            if let minimum = node.exclusiveMinimum { edits.append(Edit(path: path, value: number(minimum.double + (passing ? unit : 0)))) }
            if let maximum = node.exclusiveMaximum { edits.append(Edit(path: path, value: number(maximum.double - (passing ? unit : 0)))) }
            if let length = node.maxLength { edits.append(Edit(path: path, value: .string(String(repeating: "m", count: length + (passing ? 0 : 1))))) }
            if let length = node.minLength, length > 0 || passing {
                edits.append(Edit(path: path, value: .string(String(repeating: "n", count: max(0, length - (passing ? 0 : 1))))))
            }
            if let values = node.enumValues, let first = values.first {
                edits.append(Edit(path: path, value: passing ? first : .string("basetap-not-in-enum")))
            }
            if let items = node.maxItems { edits.append(Edit(path: path, value: .array(Array(repeating: .number("0"), count: items + (passing ? 0 : 1))))) }
        }
        visit(schema.root, [], depth: 0)
        return edits
    }

    static func operator_(_ name: String, passing: Bool) -> MutationOperator {
        MutationOperator(name, .schema, .value { message, context in
            guard let type = message["type"]?.stringValue, let schema = context.profile?.messages[type]?.payload?.schema else { return false }
            let edits = edits(schema, passing: passing)
            guard !edits.isEmpty else { return false }
            let edit = context.random.pick(edits)
            if message["payload"] == nil { message[path: [.key("payload")]] = .object([]) }
            message[path: [.key("payload")] + edit.path] = edit.value
            return true
        })
    }

    static let all = [operator_("schema.just-pass", passing: true), operator_("schema.just-fail", passing: false)]
}

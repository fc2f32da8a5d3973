/// Envelope mutations (PROTOCOL.md §2 and §4): members dropped, duplicated and retyped, ids and
/// types empty or huge, `:error` forgeries, unknown members.
enum EnvelopeOperators {
    static let members = ["id", "type", "from", "to", "payload", "ok"]

    static func envelope(_ name: String, _ change: @escaping @Sendable (inout [JSONValue.Member], inout FuzzRandom) -> Void) -> MutationOperator {
        MutationOperator(name, .envelope, .value { message, context in
            guard case .object(var fields) = message else { return false }
            change(&fields, &context.random)
            message = .object(fields)
            return true
        })
    }

    static func set(_ fields: inout [JSONValue.Member], _ key: String, _ value: JSONValue) {
        if let i = fields.firstIndex(where: { $0.key == key }) { fields[i].value = value } else { fields.append(.init(key, value)) }
    }

    /// A value of another JSON type than `value`.
    static func retyped(_ value: JSONValue?, _ random: inout FuzzRandom) -> JSONValue {
        let choices: [JSONValue] = [.string("1"), .number("1"), .bool(true), .null, .array([]), .object([])]
        return random.pick(choices.filter { $0.kind != value?.kind })
    }

    static let all: [MutationOperator] = [
        envelope("envelope.drop") { fields, random in
            let present = fields.indices.filter { members.contains(fields[$0].key) }
            if let i = present.isEmpty ? nil : random.pick(present) { fields.remove(at: i) }
        },
        envelope("envelope.duplicate") { fields, random in
            guard !fields.isEmpty else { return }
            let original = random.pick(fields)
            let copy = JSONValue.Member(original.key, random.chance(0.5) ? retyped(original.value, &random) : .string("duplicate"))
            fields.insert(copy, at: Int.random(in: 0...fields.count, using: &random))
        },
        envelope("envelope.retype") { fields, random in
            let key = random.pick(members)
            set(&fields, key, retyped(fields.first { $0.key == key }?.value, &random))
        },
        envelope("envelope.id-empty") { fields, _ in set(&fields, "id", .string("")) },
        envelope("envelope.id-huge") { fields, random in set(&fields, "id", .string(filler("9", random.pick([4096, 65536, 1 << 20])))) },
        envelope("envelope.type-empty") { fields, _ in set(&fields, "type", .string("")) },
        envelope("envelope.type-huge") { fields, random in set(&fields, "type", .string(filler("t", random.pick([4096, 65536])))) },
        envelope("envelope.error-forge") { fields, _ in
            let type = fields.first { $0.key == "type" }?.value.stringValue ?? "x"
            set(&fields, "type", .string(type + ":error"))
            set(&fields, "payload", .object([.init("errCode", .number("1")), .init("errText", .string("forged by a client"))]))
        },
        envelope("envelope.error-bare") { fields, _ in set(&fields, "type", .string(":error")) },
        envelope("envelope.error-ok-true") { fields, _ in
            let type = fields.first { $0.key == "type" }?.value.stringValue ?? "x"
            set(&fields, "type", .string(type + ":error"))
            set(&fields, "ok", .bool(true))
        },
        envelope("envelope.errcode-type") { fields, random in
            let type = fields.first { $0.key == "type" }?.value.stringValue ?? "x"
            set(&fields, "type", .string(type + ":error"))
            let code: JSONValue = random.pick([.string("500"), .number("1.5"), .null, .bool(false), .array([])])
            set(&fields, "payload", .object([.init("errCode", code), .init("errText", .string("x"))]))
        },
        envelope("envelope.errcode-edge") { fields, random in
            let type = fields.first { $0.key == "type" }?.value.stringValue ?? "x"
            set(&fields, "type", .string(type + ":error"))
            let code = random.pick(["-1", "-2147483649", "9223372036854775808", "1e308", "0"])
            set(&fields, "payload", .object([.init("errCode", .number(code)), .init("errText", .string("x"))]))
        },
        envelope("envelope.unknown-member") { fields, random in
            fields.append(.init(random.pick(["x-basetap", "__proto__", "constructor", "Id", "TYPE"]), .string("unknown")))
        },
    ]
}

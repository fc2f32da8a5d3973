/// Value mutations inside the payload (boundary numbers, long strings, Unicode edge cases, deep
/// nesting) and JSON syntax mutations of the message text.
enum ValueOperators {
    /// Replaces one leaf of the payload with `make`'s value. A payload with no leaf (`{}`, `[]`, or
    /// none) gets the value as a new member or element: the container stays a container, so the
    /// finding's name says what was changed.
    static func leaf(_ name: String, _ make: @escaping @Sendable (inout MutationContext) -> JSONValue) -> MutationOperator {
        MutationOperator(name, .value, .value { message, context in
            guard case .object = message else { return false }
            let leaves = message.paths { $0.isLeaf }.filter { $0.first == .key("payload") }
            if !leaves.isEmpty {
                message[path: context.random.pick(leaves)] = make(&context)
                return true
            }
            let containers = message.paths { !$0.isLeaf }.filter { $0.first == .key("payload") }
            guard let path = containers.isEmpty ? nil : context.random.pick(containers) else {
                message[path: [.key("payload")]] = .object([.init("basetap", make(&context))])
                return true
            }
            switch message[path: path] {
            case .array(let elements)?: message[path: path] = .array(elements + [make(&context)])
            case .object(let members)?: message[path: path] = .object(members + [.init("basetap", make(&context))])
            default: return false
            }
            return true
        })
    }

    static let numbers = ["0", "-1", "-0", "2147483648", "-2147483649", "9007199254740991", "9007199254740993",
                          "9223372036854775808", "18446744073709551616", "1e308", "1e309", "5e-324", "0.1e1"]

    static let all: [MutationOperator] = [
        leaf("value.int-boundary") { context in .number(context.random.pick(numbers)) },
        leaf("value.long-string") { context in .string(filler("x", context.random.pick([65536, 1 << 20]))) },
        leaf("value.unicode") { context in
            let raw = context.random.pick([#""\u0000""#, #""\ud800""#, #""\udfff\ud800""#, "\"\u{202E}evil\u{202C}\"", "\"e\u{301}\u{301}\u{301}\"",
                                           "\"\u{FEFF}\"", #""\uFFFF""#, "\"\u{10FFFF}\""])
            context.raw = raw
            return .string(RawJSON.marker)
        },
        leaf("value.deep-nesting") { context in
            let depth = context.random.pick([100, 1000, 10000, 100_000])
            context.raw = filler("[", depth) + filler("]", depth)
            return .string(RawJSON.marker)
        },
        MutationOperator("json.truncate", .json, .bytes { bytes, random in
            guard bytes.count > 1 else { return false }
            bytes.removeLast(Int.random(in: 1..<bytes.count, using: &random))
            return true
        }),
        MutationOperator("json.trailing-garbage", .json, .bytes { bytes, random in
            bytes += Array(random.pick(["}", " 1", "{}", "\u{0}", ",", "]"]).utf8)
            return true
        }),
        MutationOperator("json.invalid-utf8", .json, .bytes { bytes, random in
            let at = bytes.firstIndex(of: UInt8(ascii: "\"")).map { $0 + 1 } ?? 0
            bytes.insert(contentsOf: random.pick([[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80]]), at: at)
            return true
        }),
        MutationOperator("json.comment", .json, .bytes { bytes, random in
            guard bytes.first == UInt8(ascii: "{") else { return false }
            bytes.insert(contentsOf: Array(random.pick(["/* c */", "// c\n"]).utf8), at: 1)
            return true
        }),
        MutationOperator("json.single-quotes", .json, .bytes { bytes, _ in
            guard let first = bytes.firstIndex(of: UInt8(ascii: "\"")),
                let second = bytes[(first + 1)...].firstIndex(of: UInt8(ascii: "\""))
            else { return false }
            bytes[first] = UInt8(ascii: "'")
            bytes[second] = UInt8(ascii: "'")
            return true
        }),
    ]
}

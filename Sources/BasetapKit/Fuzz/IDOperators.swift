/// Entity ID mutations (PROTOCOL.md §3): every kind and part. Each picks one ID-looking string of
/// the message (`from`, `to`, or a payload string that starts with a sigil) and breaks one part.
enum IDOperators {
    static let sigils: [Character] = ["#", "@", "%", "^", "&", "!"]

    /// An Entity ID taken apart: sigil, local part, separator, server host and port text.
    struct Parts {
        var sigil: String
        var local: String
        var separator: String
        var host: String
        var port: String?

        init(_ text: String) {
            var rest = Substring(text)
            sigil = rest.first.map { sigils.contains($0) ? String($0) : "" } ?? ""
            rest = rest.dropFirst(sigil.count)
            let separatorCharacter: Character = sigil == "@" || sigil == "!" ? "@" : ":"
            if !sigil.isEmpty, let at = rest.firstIndex(of: separatorCharacter) {
                local = String(rest[..<at])
                separator = String(separatorCharacter)
                rest = rest[rest.index(after: at)...]
            } else {
                local = ""
                separator = ""
            }
            if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                host = String(rest[...close])
                let after = rest[rest.index(after: close)...]
                port = after.hasPrefix(":") ? String(after.dropFirst()) : nil
            } else if let colon = rest.lastIndex(of: ":") {
                host = String(rest[..<colon])
                port = String(rest[rest.index(after: colon)...])
            } else {
                host = String(rest)
                port = nil
            }
        }

        var text: String { sigil + local + separator + host + (port.map { ":" + $0 } ?? "") }
    }

    static func idOperator(_ name: String, _ change: @escaping @Sendable (inout Parts, inout FuzzRandom) -> Void) -> MutationOperator {
        MutationOperator(name, .id, .value { message, context in
            let candidates = message.paths { value in
                guard case .string(let s) = value, let first = s.first else { return false }
                return sigils.contains(first)
            }
            let targets = candidates.isEmpty ? [[JSONValue.Step.key("from")]] : candidates
            let path = context.random.pick(targets)
            var parts = Parts(message[path: path]?.stringValue ?? "@user@example.org")
            change(&parts, &context.random)
            message[path: path] = .string(parts.text)
            return true
        })
    }

    static let all: [MutationOperator] = [
        idOperator("id.sigil-swap") { parts, random in parts.sigil = String(random.pick(sigils.filter { String($0) != parts.sigil } + ["*", "$"])) },
        idOperator("id.sigil-drop") { parts, _ in parts.sigil = "" },
        idOperator("id.local-empty") { parts, _ in parts.local = "" },
        idOperator("id.local-huge") { parts, random in parts.local = filler("a", random.pick([256, 4096, 65536])) },
        idOperator("id.local-forbidden") { parts, random in parts.local += String(random.pick([" ", "\"", "\\", "\u{0}", "é", ":", "@", "\u{202E}"])) },
        idOperator("id.local-uppercase") { parts, _ in parts.local = parts.local.uppercased() + "X" },
        idOperator("id.port") { parts, random in parts.port = random.pick(["0", "1", "65535", "65536", "99999", "-1", "", "08080"]) },
        idOperator("id.ipv4") { parts, random in
            parts.host = random.pick(["0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "127.0.0.1"])
        },
        idOperator("id.ipv6") { parts, random in
            parts.host = random.pick(["[::1]", "::1", "[::ffff:1.2.3.4]", "[fe80::1%eth0]", "[1:2:3:4:5:6:7:8:9]", "[::", "[]", "[:::1]"])
        },
        idOperator("id.long-label") { parts, _ in parts.host = String(repeating: "a", count: 64) + ".example.org" },
        idOperator("id.long-name") { parts, _ in parts.host = Array(repeating: String(repeating: "b", count: 60), count: 5).joined(separator: ".") },
        idOperator("id.underscore") { parts, _ in parts.host = "under_score." + parts.host },
        idOperator("id.trailing-dot") { parts, _ in parts.host += "." },
    ]
}

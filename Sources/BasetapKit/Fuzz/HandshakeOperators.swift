/// Mutations of the HTTP upgrade request (RFC 6455 §4.1, RFC 9110): what a server parses before any
/// of its WebSocket code runs. The head is worked on as lines, the request line first; the case
/// sends it exactly as changed, and its finding records it so that replay sends it again.
enum HandshakeOperators {
    static func op(_ name: String, _ change: @escaping @Sendable (inout [String], inout FuzzRandom) -> Bool) -> MutationOperator {
        MutationOperator(name, .handshake, .handshake(change))
    }

    static func index(of name: String, in lines: [String]) -> Int? {
        lines.indices.dropFirst().first { lines[$0].lowercased().hasPrefix(name.lowercased() + ":") }
    }

    static func remove(_ name: String, _ lines: inout [String]) -> Bool {
        guard let i = index(of: name, in: lines) else { return false }
        lines.remove(at: i)
        return true
    }

    static func set(_ name: String, _ value: String, _ lines: inout [String]) {
        if let i = index(of: name, in: lines) { lines[i] = "\(name): \(value)" } else { lines.append("\(name): \(value)") }
    }

    /// Replaces one part of the request line (0 method, 1 target, 2 version).
    static func requestLine(_ lines: inout [String], part: Int, _ value: String) -> Bool {
        var parts = lines[0].split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return false }
        parts[part] = value
        lines[0] = parts.joined(separator: " ")
        return true
    }

    static let all: [MutationOperator] = [
        op("handshake.no-key") { lines, _ in remove("Sec-WebSocket-Key", &lines) },
        op("handshake.bad-key") { lines, random in
            set("Sec-WebSocket-Key", random.pick(["", "not base64!", "dGhlIHNhbXBsZQ==", String(repeating: "A", count: 4096),
                                                  "dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ=="]), &lines)
            return true
        },
        op("handshake.no-version") { lines, _ in remove("Sec-WebSocket-Version", &lines) },
        op("handshake.bad-version") { lines, random in
            set("Sec-WebSocket-Version", random.pick(["8", "14", "0", "abc", "13, 8", "-1", "99999999999999999999", ""]), &lines)
            return true
        },
        op("handshake.no-upgrade") { lines, random in
            random.chance(0.5) ? remove("Upgrade", &lines) : remove("Connection", &lines)
        },
        op("handshake.method") { lines, random in
            requestLine(&lines, part: 0, random.pick(["POST", "PUT", "HEAD", "OPTIONS", "DELETE", "CONNECT", "get", "PRI", "X" + String(repeating: "G", count: 1000)]))
        },
        op("handshake.http-version") { lines, random in
            requestLine(&lines, part: 2, random.pick(["HTTP/1.0", "HTTP/0.9", "HTTP/2.0", "HTTP/1.1x", "HTTP/9.9", "http/1.1"]))
        },
        op("handshake.huge-header") { lines, random in
            let size = random.pick([8 << 10, 64 << 10, 1 << 20])
            lines.append(random.pick(["Cookie", "X-Basetap", "Sec-WebSocket-Protocol"]) + ": " + filler("a", size))
            return true
        },
        op("handshake.many-headers") { lines, random in
            lines += (0..<random.pick([100, 1000, 10000])).map { "X-Basetap-\($0): \($0)" }
            return true
        },
        op("handshake.duplicate-headers") { lines, random in
            let name = random.pick(["Sec-WebSocket-Key", "Sec-WebSocket-Version", "Upgrade", "Host", "Connection"])
            guard let i = index(of: name, in: lines) else { return false }
            let other = ["Sec-WebSocket-Key": "AAAAAAAAAAAAAAAAAAAAAA==", "Sec-WebSocket-Version": "8", "Upgrade": "h2c",
                         "Host": "other.invalid", "Connection": "close"][name]!
            lines.insert("\(name): \(other)", at: i + 1)
            return true
        },
        op("handshake.odd-path") { lines, random in
            requestLine(&lines, part: 1, random.pick([
                "//", "/%00", "/../../../etc/passwd", "/" + String(repeating: "x", count: 8000), "*", "http://other.invalid/ws",
                "/?" + String(repeating: "a=1&", count: 2500), "/%ZZ", "/\u{7f}", "/ws#fragment", "/\u{00e9}", "",
            ]))
        },
        op("handshake.bad-subprotocol") { lines, random in
            set("Sec-WebSocket-Protocol", random.pick([",,,", "a b", "", (0..<1000).map { "p\($0)" }.joined(separator: ", "), "\u{1}", "\"quoted\""]), &lines)
            return true
        },
        op("handshake.bad-extension") { lines, random in
            set("Sec-WebSocket-Extensions", random.pick([
                "permessage-deflate; server_max_window_bits=7", "permessage-deflate; server_max_window_bits=16",
                "permessage-deflate; client_max_window_bits=abc", "permessage-deflate; permessage-deflate",
                "x-unknown; a=\"", "permessage-deflate; server_no_context_takeover=1; server_no_context_takeover",
                String(repeating: "permessage-deflate, ", count: 500),
            ]), &lines)
            return true
        },
        op("handshake.plain-get") { lines, _ in
            lines = lines.enumerated().filter { $0.offset == 0 || $0.element.lowercased().hasPrefix("host:") }.map(\.element)
            return true
        },
    ]
}

/// The one filter language of basetap: which messages the proxy holds (`--intercept`), and which
/// ones a view shows. Terms side by side must all match; `or` joins alternatives; `not` (or `!`)
/// negates; parentheses group.
///
///     dir:c2s type:chat.*            a client message whose type starts with "chat."
///     conn:c3 or id:m1*              connection c3, or an id beginning "m1"
///     /to == #general not kind:binary   the member at a JSON pointer equals a value
///     /payload/n > 5                 compares numbers (also <, !=)
///     /payload/text ~ /hel+o/        matches a regular expression
///     /error                         the pointer exists
///     rule:id.* severity:error       the message broke a rule (of that severity)
///     hello                          the payload contains "hello"
///
/// Keys: `dir` (c2s, s2c), `kind` (text, binary), `conn`, `type`, `id`, `rule`, `severity`, `text`
/// (contains). Values match exactly, with `*` for any run of characters; quote them ("a b") to
/// include spaces. `/pointer=value` is `/pointer == value`.
public struct MessageFilter: Sendable, CustomStringConvertible {
    indirect enum Node: Sendable {
        case all([Node])
        case any([Node])
        case not(Node)
        case term(Term)
    }

    enum Term: Sendable {
        case dir(Direction)
        case kind(CaptureRecord.Kind)
        case conn(Glob)
        case type(Glob)
        case id(Glob)
        case contains(String)
        case rule(Glob)
        case severity(Severity)
        case pointer([String], Comparison?)
    }

    enum Comparison: Sendable {
        case equal(Glob)
        case notEqual(Glob)
        case less(Double)
        case greater(Double)
        /// Compiled once: a filter is evaluated on every message of a timeline.
        case matches(Pattern)
    }

    /// A compiled regular expression. `Regex<AnyRegexOutput>` is not `Sendable` only because of the
    /// values a match captures; the filter never keeps a match, and the compiled program is
    /// immutable once built (its lazy lowering is initialized atomically).
    struct Pattern: @unchecked Sendable {
        let regex: Regex<AnyRegexOutput>
    }

    public let description: String
    let root: Node

    public struct SyntaxError: Error, CustomStringConvertible {
        public let column: Int
        public let message: String
        public var description: String { "at column \(column): \(message)" }
    }

    public init(_ text: String) throws(SyntaxError) {
        description = text
        var parser = Parser(tokens: try Self.tokenize(text), end: text.count + 1)
        root = try parser.expression()
        if let extra = parser.peek { throw SyntaxError(column: extra.column, message: "unexpected '\(extra.text)'") }
    }

    /// Whether the filter has `rule:` or `severity:` terms: a message must be checked before it can match.
    public var needsViolations: Bool {
        func uses(_ node: Node) -> Bool {
            switch node {
            case .all(let nodes), .any(let nodes): nodes.contains(where: uses)
            case .not(let node): uses(node)
            case .term(.rule), .term(.severity): true
            case .term: false
            }
        }
        return uses(root)
    }

    /// What the filter sees of a message: its record, the violations found on it, and its envelope
    /// parsed at most once.
    public func matches(_ record: CaptureRecord, violations: [Violation] = []) -> Bool {
        matches(conn: record.conn, dir: record.dir, kind: record.kind, payload: { record.payload }, violations: violations)
    }

    /// The same, for a message kept in pieces: its payload is only asked for when a term needs it.
    func matches(conn: String, dir: Direction?, kind: CaptureRecord.Kind, payload: () -> [UInt8], violations: [Violation]) -> Bool {
        var bytes: [UInt8]?
        func body() -> [UInt8] {
            if bytes == nil { bytes = payload() }
            return bytes!
        }
        var parsed: JSONValue??
        func json() -> JSONValue? {
            if parsed == nil { parsed = .some(kind == .text ? try? JSONValue(parsing: body()) : nil) }
            return parsed!
        }
        func member(_ name: String) -> String? {
            guard case .object(let members)? = json(), let value = members.first(where: { $0.key == name })?.value else { return nil }
            return Self.text(of: value)
        }
        func evaluate(_ node: Node) -> Bool {
            switch node {
            case .all(let nodes): return nodes.allSatisfy(evaluate)
            case .any(let nodes): return nodes.contains(where: evaluate)
            case .not(let node): return !evaluate(node)
            case .term(let term):
                switch term {
                case .dir(let wanted): return dir == wanted
                case .kind(let wanted): return kind == wanted
                case .conn(let glob): return glob.matches(conn)
                case .type(let glob): return member("type").map(glob.matches) ?? false
                case .id(let glob): return member("id").map(glob.matches) ?? false
                case .contains(let needle): return UTF8Scan.isValid(body()) && String(decoding: body(), as: UTF8.self).contains(needle)
                case .rule(let glob): return violations.contains { glob.matches($0.rule.id) }
                case .severity(let severity): return violations.contains { $0.severity == severity }
                case .pointer(let tokens, let comparison):
                    guard let value = json().flatMap({ Self.resolve($0, tokens) }) else { return false }
                    guard let comparison else { return true }
                    let text = Self.text(of: value)
                    switch comparison {
                    case .equal(let glob): return glob.matches(text)
                    case .notEqual(let glob): return !glob.matches(text)
                    case .less(let limit): return Double(text).map { $0 < limit } ?? false
                    case .greater(let limit): return Double(text).map { $0 > limit } ?? false
                    case .matches(let pattern): return text.contains(pattern.regex)
                    }
                }
            }
        }
        return evaluate(root)
    }

    /// A member's value as a filter compares it: strings as they are, anything else as JSON.
    static func text(of value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return String(decoding: value.serialized(), as: UTF8.self)
    }

    static func resolve(_ value: JSONValue, _ tokens: [String]) -> JSONValue? {
        var current = value
        for token in tokens {
            switch current {
            case .object(let members):
                guard let next = members.first(where: { $0.key == token })?.value else { return nil }
                current = next
            case .array(let items):
                guard let index = Int(token), items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }

    // MARK: Parsing

    struct Token {
        var text: String
        var quoted: Bool
        var column: Int
    }

    static func tokenize(_ text: String) throws(SyntaxError) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" {
                i += 1
            } else if c == "(" || c == ")" || (c == "!" && (i + 1 == chars.count || chars[i + 1] != "=")) {
                tokens.append(Token(text: String(c), quoted: false, column: i + 1))
                i += 1
            } else {
                let start = i
                var word = ""
                var quoted = false
                while i < chars.count, chars[i] != " ", chars[i] != "\t", chars[i] != "(", chars[i] != ")" {
                    let afterMatch = word.hasSuffix("~") || (word.isEmpty && tokens.last?.text.hasSuffix("~") == true)
                    if chars[i] == "/" && afterMatch {
                        // A regular expression, /…/, is one value whatever it holds (parentheses, spaces).
                        word.append("/")
                        i += 1
                        while i < chars.count, chars[i] != "/" {
                            if chars[i] == "\\", i + 1 < chars.count, chars[i + 1] == "/" { i += 1 }
                            word.append(chars[i])
                            i += 1
                        }
                        guard i < chars.count else { throw SyntaxError(column: start + 1, message: "a regular expression that is never closed with '/'") }
                        word.append("/")
                        i += 1
                    } else if chars[i] == "\"" {
                        quoted = true
                        i += 1
                        while i < chars.count, chars[i] != "\"" {
                            if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                            word.append(chars[i])
                            i += 1
                        }
                        guard i < chars.count else { throw SyntaxError(column: start + 1, message: "a quote that is never closed") }
                        i += 1
                    } else {
                        word.append(chars[i])
                        i += 1
                    }
                }
                tokens.append(Token(text: word, quoted: quoted, column: start + 1))
            }
        }
        return tokens
    }

    struct Parser {
        var tokens: [Token]
        var index = 0
        let end: Int

        var peek: Token? { index < tokens.count ? tokens[index] : nil }

        mutating func expression() throws(SyntaxError) -> Node {
            var alternatives = [try conjunction()]
            while let token = peek, !token.quoted, token.text.lowercased() == "or" {
                index += 1
                alternatives.append(try conjunction())
            }
            return alternatives.count == 1 ? alternatives[0] : .any(alternatives)
        }

        mutating func conjunction() throws(SyntaxError) -> Node {
            var terms: [Node] = []
            while let token = peek, token.quoted || (token.text != ")" && token.text.lowercased() != "or") {
                if !token.quoted && token.text.lowercased() == "and" {
                    index += 1
                    continue
                }
                terms.append(try unary())
            }
            guard !terms.isEmpty else {
                throw SyntaxError(column: peek?.column ?? end, message: peek == nil ? "a term is missing at the end" : "a term is missing before '\(peek!.text)'")
            }
            return terms.count == 1 ? terms[0] : .all(terms)
        }

        mutating func unary() throws(SyntaxError) -> Node {
            guard let token = peek else { throw SyntaxError(column: end, message: "a term is missing at the end") }
            index += 1
            if !token.quoted && (token.text == "!" || token.text.lowercased() == "not") { return .not(try unary()) }
            if !token.quoted && token.text == "(" {
                let inner = try expression()
                guard peek?.text == ")" else { throw SyntaxError(column: peek?.column ?? end, message: "'(' at column \(token.column) is never closed") }
                index += 1
                return inner
            }
            if !token.quoted && token.text.hasPrefix("/") { return .term(try pointer(token)) }
            return .term(try Self.term(token))
        }

        static let operators = ["==", "!=", "=", "<", ">", "~"]

        /// `/a/b`, `/a/b == v` (or `/a/b=v`), `/a/b != v`, `/a/b < 5`, `/a/b > 5`, `/a/b ~ /regex/`.
        mutating func pointer(_ token: Token) throws(SyntaxError) -> Term {
            var text = token.text
            var op: String?
            var value: Token?
            if let found = Self.operators.compactMap({ o in text.range(of: o).map { (o, $0) } }).min(by: { $0.1.lowerBound < $1.1.lowerBound }) {
                op = found.0
                let rest = String(text[found.1.upperBound...])
                text = String(text[..<found.1.lowerBound])
                if !rest.isEmpty { value = Token(text: rest, quoted: false, column: token.column + text.count + found.0.count) }
            } else if let next = peek, !next.quoted, Self.operators.contains(next.text) {
                op = next.text
                index += 1
            } else if let next = peek, !next.quoted, let o = Self.operators.first(where: { next.text.hasPrefix($0) }) {
                // The operator written against its value: `/n >5`.
                op = o
                index += 1
                value = Token(text: String(next.text.dropFirst(o.count)), quoted: false, column: next.column + o.count)
            }
            let tokens = JSONPointer.tokens(text)
            guard let op else { return .pointer(tokens, nil) }
            if value == nil {
                guard let next = peek, next.text != ")" || next.quoted else {
                    throw SyntaxError(column: peek?.column ?? end, message: "'\(op)' needs a value after it")
                }
                value = next
                index += 1
            }
            let v = value!
            switch op {
            case "==", "=": return .pointer(tokens, .equal(Glob(v.text)))
            case "!=": return .pointer(tokens, .notEqual(Glob(v.text)))
            case "<", ">":
                guard let number = Double(v.text) else { throw SyntaxError(column: v.column, message: "'\(op)' compares numbers, not '\(v.text)'") }
                return .pointer(tokens, op == "<" ? .less(number) : .greater(number))
            default:
                var pattern = v.text
                if pattern.count >= 2 && pattern.hasPrefix("/") && pattern.hasSuffix("/") { pattern = String(pattern.dropFirst().dropLast()) }
                guard let regex = try? Regex(pattern) else {
                    throw SyntaxError(column: v.column, message: "'\(pattern)' is not a regular expression")
                }
                return .pointer(tokens, .matches(Pattern(regex: regex)))
            }
        }

        static func term(_ token: Token) throws(SyntaxError) -> Term {
            let text = token.text
            if token.quoted && !text.contains(":") { return .contains(text) }
            let (key, value) = split(text, at: ":")
            guard let value else { return .contains(text) }
            guard !value.isEmpty else { throw SyntaxError(column: token.column, message: "'\(key):' needs a value") }
            switch key.lowercased() {
            case "dir":
                guard let dir = Direction(rawValue: value) else { throw SyntaxError(column: token.column, message: "dir is c2s or s2c, not '\(value)'") }
                return .dir(dir)
            case "kind":
                guard let kind = CaptureRecord.Kind(rawValue: value), kind.isMessage else {
                    throw SyntaxError(column: token.column, message: "kind is text or binary, not '\(value)'")
                }
                return .kind(kind)
            case "conn": return .conn(Glob(value))
            case "type": return .type(Glob(value))
            case "id": return .id(Glob(value))
            case "text": return .contains(value)
            case "rule": return .rule(Glob(value))
            case "severity":
                guard let severity = Severity(rawValue: value) else { throw SyntaxError(column: token.column, message: "severity is error or warning, not '\(value)'") }
                return .severity(severity)
            default:
                throw SyntaxError(column: token.column, message: "unknown key '\(key)' (dir, kind, conn, type, id, rule, severity, text, or a /pointer)")
            }
        }

        static func split(_ text: String, at separator: Character) -> (String, String?) {
            guard let i = text.firstIndex(of: separator) else { return (text, nil) }
            return (String(text[..<i]), String(text[text.index(after: i)...]))
        }
    }
}

/// A value with `*` for any run of characters.
struct Glob: Sendable {
    let parts: [Substring]

    init(_ pattern: String) {
        parts = pattern.split(separator: "*", omittingEmptySubsequences: false)
    }

    func matches(_ text: String) -> Bool {
        guard parts.count > 1 else { return text == parts[0] }
        var rest = Substring(text)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for part in parts.dropFirst().dropLast() where !part.isEmpty {
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return rest.hasSuffix(parts.last!)
    }
}

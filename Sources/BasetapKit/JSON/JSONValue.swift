/// A JSON document held as a value, for the jobs that change or compare documents
/// (replay diffs, mutation, profiles). Member order and duplicate keys are kept; numbers keep
/// their literal text so that no integer is rounded on the way through.
public indirect enum JSONValue: Sendable, Hashable {
    case object([Member])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// Parses a complete document.
    public init(parsing bytes: some Collection<UInt8>, maxDepth: Int = JSONReader.defaultMaxDepth) throws(JSONSyntaxError) {
        var reader = JSONReader(maxDepth: maxDepth)
        let array = Array(bytes)
        let result = array.withUnsafeBytes { raw in reader.withParsed(raw) { view, _ in JSONValue(view, 0) } }
        self = try result.get()
    }

    public init(parsing text: String) throws(JSONSyntaxError) {
        try self.init(parsing: Array(text.utf8))
    }

    /// Builds the value of tape node `index`.
    public init(_ view: JSONView, _ index: Int) {
        let node = view[index]
        switch node.kind {
        case .object: self = .object(view.members(index).map { Member(view.string($0.key), JSONValue(view, $0.value)) })
        case .array: self = .array(view.elements(index).map { JSONValue(view, $0) })
        case .string: self = .string(view.string(index))
        case .number: self = .number(view.rawText(index))
        case .true: self = .bool(true)
        case .false: self = .bool(false)
        case .null: self = .null
        }
    }

    public var kind: JSONKind {
        switch self {
        case .object: .object
        case .array: .array
        case .string: .string
        case .number: .number
        case .bool(let b): b ? .true : .false
        case .null: .null
        }
    }

    /// The first member named `key` of an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// A number as its JSON text (exact, whatever its size).
    public var numberText: String? {
        if case .number(let text) = self { return text }
        return nil
    }

    /// Compact JSON text.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    public var jsonText: String { String(decoding: serialized(), as: UTF8.self) }

    /// Indented JSON for files people edit: two spaces, short arrays of scalars on one line.
    public func prettyText(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .object(let members) where !members.isEmpty:
            let lines = members.map { inner + JSONString.quoted($0.key) + ": " + $0.value.prettyText(indent: inner) }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + indent + "}"
        case .array(let elements) where !elements.isEmpty:
            if elements.allSatisfy({ $0.kind != .object && $0.kind != .array }) || elements.allSatisfy(\.isShortArray) {
                return "[" + elements.map(\.jsonText).joined(separator: ", ") + "]"
            }
            return "[\n" + elements.map { inner + $0.prettyText(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        default:
            return jsonText
        }
    }

    private var isShortArray: Bool {
        if case .array(let elements) = self { return elements.count <= 4 && elements.allSatisfy { $0.kind == .number } }
        return false
    }

    public func write(into out: inout [UInt8]) {
        switch self {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.encode(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let s): JSONString.encode(s, into: &out)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        }
    }
}

import Foundation

/// A description of a server's extensions (PROTOCOL.md §6): which message types exist, the schema
/// of each type's payload, and the error codes each extension owns.
public struct Profile: Sendable {
    public enum UnknownTypes: String, Sendable, CaseIterable {
        case ignore, warning, error
    }

    public struct Extension: Sendable {
        public var name: String
        public var errCodes: [ClosedRange<Int64>]
        public var messageTypes: [String]
    }

    struct MessageSpec: Sendable {
        var extensionIndex: Int
        var payload: SchemaValidator?
    }

    public let source: String
    public private(set) var extensions: [Extension] = []
    public private(set) var unknownTypes = UnknownTypes.warning
    private(set) var messages: [String: MessageSpec] = [:]

    public var messageTypeCount: Int { messages.count }

    /// Loads a profile file, JSON or YAML (told apart by content: JSON starts with `{`).
    public static func load(path: String) throws -> Profile {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read" : "no such file"
            throw BasetapError.input(place: path, message: reason)
        }
        let bytes = [UInt8](data)
        let document = try ProfileDocument.parse(bytes, source: path)
        return try Profile(document: document, source: path)
    }

    public init(document: JSONValue, source: String) throws {
        self.source = source
        func fail(_ pointer: String, _ message: String) -> BasetapError {
            BasetapError.input(place: pointer.isEmpty ? source : "\(source) at \(pointer)", message: message)
        }
        guard case .object(let top) = document else { throw fail("", "a profile must be a JSON object") }
        for member in top {
            switch member.key {
            case "extensions":
                guard case .object(let list) = member.value else {
                    throw fail("/extensions", "\"extensions\" must be an object of extensions by name")
                }
                for ext in list { try addExtension(ext.key, ext.value, fail) }
            case "unknownTypes":
                guard let policy = member.value.stringValue.flatMap(UnknownTypes.init(rawValue:)) else {
                    throw fail("/unknownTypes", "\"unknownTypes\" must be \"ignore\", \"warning\" or \"error\"")
                }
                unknownTypes = policy
            case "$schema", "$comment", "description", "title":
                break
            default:
                throw fail("/" + JSONPointer.escape(member.key), "unknown member \(JSONString.quoted(member.key)) (expected extensions, unknownTypes)")
            }
        }
        try checkOverlaps(fail)
    }

    private mutating func addExtension(
        _ name: String, _ value: JSONValue, _ fail: (String, String) -> BasetapError
    ) throws {
        let at = "/extensions/" + JSONPointer.escape(name)
        guard case .object(let members) = value else { throw fail(at, "an extension must be an object") }
        var ext = Extension(name: name, errCodes: [], messageTypes: [])
        let index = extensions.count
        for member in members {
            let memberAt = at + "/" + JSONPointer.escape(member.key)
            switch member.key {
            case "errCodes":
                ext.errCodes = try Self.ranges(member.value) { fail(memberAt, $0) }
            case "messages":
                guard case .object(let types) = member.value else { throw fail(memberAt, "\"messages\" must be an object of message types") }
                for type in types {
                    let typeAt = memberAt + "/" + JSONPointer.escape(type.key)
                    if let existing = messages[type.key] {
                        throw fail(typeAt, "type \(JSONString.quoted(type.key)) is already declared by extension \(JSONString.quoted(extensions[existing.extensionIndex].name))")
                    }
                    messages[type.key] = MessageSpec(extensionIndex: index, payload: try Self.payloadSchema(type.value, at: typeAt, fail))
                    ext.messageTypes.append(type.key)
                }
            case "description", "$comment":
                break
            default:
                throw fail(memberAt, "unknown member \(JSONString.quoted(member.key)) (expected errCodes, messages, description)")
            }
        }
        extensions.append(ext)
    }

    private static func payloadSchema(
        _ value: JSONValue, at: String, _ fail: (String, String) -> BasetapError
    ) throws -> SchemaValidator? {
        guard case .object(let members) = value else { throw fail(at, "a message type must be an object such as {\"payload\": {schema}}") }
        var validator: SchemaValidator?
        for member in members {
            switch member.key {
            case "payload":
                do {
                    validator = SchemaValidator(try SchemaCompiler.compile(member.value))
                } catch {
                    throw fail(at + "/payload" + error.pointer, error.message)
                }
            case "description", "$comment":
                break
            default:
                throw fail(at + "/" + JSONPointer.escape(member.key), "unknown member \(JSONString.quoted(member.key)) (expected payload, description)")
            }
        }
        return validator
    }

    /// `[[100, 199], 404]`: ranges as pairs, single codes as integers.
    private static func ranges(_ value: JSONValue, _ fail: (String) -> BasetapError) throws -> [ClosedRange<Int64>] {
        let problem = fail("\"errCodes\" must be an array of [low, high] integer pairs or integers")
        guard case .array(let items) = value else { throw problem }
        var result: [ClosedRange<Int64>] = []
        for item in items {
            switch item {
            case .number(let text):
                guard let code = Int64(text) else { throw problem }
                result.append(code...code)
            case .array(let pair):
                guard pair.count == 2, case .number(let a) = pair[0], case .number(let b) = pair[1],
                    let low = Int64(a), let high = Int64(b)
                else { throw problem }
                guard low <= high else { throw fail("errCodes range [\(low), \(high)] is empty (low > high)") }
                result.append(low...high)
            default:
                throw problem
            }
        }
        return result
    }

    /// The draft: error codes of one extension MUST NOT overlap those of another.
    private func checkOverlaps(_ fail: (String, String) -> BasetapError) throws {
        for (i, a) in extensions.enumerated() {
            for b in extensions[(i + 1)...] {
                for ra in a.errCodes {
                    for rb in b.errCodes where ra.overlaps(rb) {
                        throw fail(
                            "/extensions/\(JSONPointer.escape(b.name))/errCodes",
                            "errCodes of extensions \(JSONString.quoted(a.name)) [\(ra.lowerBound), \(ra.upperBound)] and \(JSONString.quoted(b.name)) [\(rb.lowerBound), \(rb.upperBound)] overlap")
                    }
                }
            }
        }
    }

    /// The extension that declares `type`, if any.
    public func extensionName(declaring type: String) -> String? {
        messages[type].map { extensions[$0.extensionIndex].name }
    }
}

/// Reading a profile's text into a `JSONValue`, with errors that name the line and column.
enum ProfileDocument {
    static func parse(_ bytes: [UInt8], source: String) throws -> JSONValue {
        let first = bytes.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        if first == UInt8(ascii: "{") {
            var reader = JSONReader()
            let result = bytes.withUnsafeBytes { raw in
                reader.withParsed(raw) { view, issues in (JSONValue(view, 0), issues) }
            }
            switch result {
            case .failure(let error):
                throw BasetapError.input(place: "\(source):\(position(bytes, error.offset))", message: "not valid JSON: \(error.message)")
            case .success(let (value, issues)):
                if let duplicate = issues.first(where: { $0.kind == .duplicateKey }) {
                    throw BasetapError.input(
                        place: "\(source):\(position(bytes, duplicate.offset))", message: "duplicate key at \(duplicate.pointer)")
                }
                return value
            }
        }
        return try YAMLDocument.parse(String(decoding: bytes, as: UTF8.self), source: source)
    }

    /// "line:column", both 1-based.
    static func position(_ bytes: [UInt8], _ offset: Int) -> String {
        var line = 1
        var column = 1
        for b in bytes.prefix(offset) {
            if b == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return "\(line):\(column)"
    }
}

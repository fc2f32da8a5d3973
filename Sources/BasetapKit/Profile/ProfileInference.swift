/// Derives a starting profile from recorded traffic: the types seen (grouped into extensions by
/// the part before the first '.'), a payload schema per type (member types, members present in
/// every sample as required, small sets of string values as enums) and the error codes each
/// extension answered with. A user then edits it.
public struct ProfileInference {
    /// What was seen of the values at one place in the payloads.
    final class Sketch {
        var samples = 0
        var kinds = Set<String>()
        var allIntegers = true
        var strings: Set<String>? = []
        var members: [(name: String, sketch: Sketch, count: Int)] = []
        var objects = 0
        var items: Sketch?

        static let maxEnum = 5

        func observe(_ value: JSONValue) {
            samples += 1
            switch value {
            case .null: kinds.insert("null")
            case .bool: kinds.insert("boolean")
            case .string(let s):
                kinds.insert("string")
                if strings != nil {
                    strings!.insert(s)
                    if strings!.count > Self.maxEnum { strings = nil }
                }
            case .number(let text):
                kinds.insert("number")
                if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { allIntegers = false }
            case .array(let elements):
                kinds.insert("array")
                if items == nil { items = Sketch() }
                for element in elements { items!.observe(element) }
            case .object(let list):
                kinds.insert("object")
                objects += 1
                for member in list {
                    if let i = members.firstIndex(where: { $0.name == member.key }) {
                        members[i].count += 1
                        members[i].sketch.observe(member.value)
                    } else {
                        let sketch = Sketch()
                        sketch.observe(member.value)
                        members.append((member.key, sketch, 1))
                    }
                }
            }
        }

        func schema() -> JSONValue {
            var out: [JSONValue.Member] = []
            let names = kinds.sorted().map { $0 == "number" && allIntegers ? "integer" : $0 }
            out.append(.init("type", names.count == 1 ? .string(names[0]) : .array(names.map { .string($0) })))
            if kinds == ["string"], let values = strings, values.count < samples, samples >= 3 {
                out.append(.init("enum", .array(values.sorted().map { .string($0) })))
            }
            if kinds.contains("object") {
                out.append(.init("properties", .object(members.map { .init($0.name, $0.sketch.schema()) })))
                let required = members.filter { $0.count == objects }.map { JSONValue.string($0.name) }
                if !required.isEmpty { out.append(.init("required", .array(required))) }
                out.append(.init("additionalProperties", .bool(false)))
            }
            if kinds.contains("array"), let items, items.samples > 0 {
                out.append(.init("items", items.schema()))
            }
            return .object(out)
        }
    }

    private var types: [(name: String, payload: Sketch)] = []
    private var errorCodes: [String: Set<Int64>] = [:]
    /// Notes for the user, such as an error code two extensions both used.
    public private(set) var notes: [String] = []
    public private(set) var messages = 0

    public init() {}

    public static func extensionName(of type: String) -> String {
        String(type.prefix { $0 != "." })
    }

    /// Observes one message's text.
    public mutating func observe(_ bytes: [UInt8]) {
        guard let message = try? JSONValue(parsing: bytes), case .string(let type) = message["type"] ?? .null, !type.isEmpty,
            MessageType(type) != .bareError
        else { return }
        messages += 1
        if case .error(answering: let requested) = MessageType(type) {
            if case .number(let text) = message["payload"]?["errCode"] ?? .null, let code = Int64(text) {
                errorCodes[Self.extensionName(of: requested), default: []].insert(code)
            }
            return
        }
        let sketch: Sketch
        if let existing = types.first(where: { $0.name == type }) {
            sketch = existing.payload
        } else {
            sketch = Sketch()
            types.append((type, sketch))
        }
        if let payload = message["payload"] { sketch.observe(payload) }
    }

    /// The profile document (JSON), extensions in the order their types were first seen.
    public mutating func profile() -> JSONValue {
        var order: [String] = []
        for (type, _) in types where !order.contains(Self.extensionName(of: type)) { order.append(Self.extensionName(of: type)) }
        for name in errorCodes.keys.sorted() where !order.contains(name) { order.append(name) }
        var owner: [Int64: String] = [:]
        var extensions: [JSONValue.Member] = []
        for name in order {
            var members: [JSONValue.Member] = []
            var codes: [Int64] = []
            for code in (errorCodes[name] ?? []).sorted() {
                if let other = owner[code] {
                    notes.append("error code \(code) was answered for extensions \"\(other)\" and \"\(name)\"; it is kept in \"\(other)\"")
                    continue
                }
                owner[code] = name
                codes.append(code)
            }
            if !codes.isEmpty { members.append(.init("errCodes", .array(Self.runs(codes)))) }
            let typesOfExtension = types.filter { Self.extensionName(of: $0.name) == name }
            members.append(.init("messages", .object(typesOfExtension.map { type in
                .init(type.name, .object(type.payload.samples > 0 ? [.init("payload", type.payload.schema())] : []))
            })))
            extensions.append(.init(name, .object(members)))
        }
        return .object([.init("unknownTypes", .string("warning")), .init("extensions", .object(extensions))])
    }

    /// Sorted codes as [low, high] runs of consecutive values.
    static func runs(_ codes: [Int64]) -> [JSONValue] {
        var result: [JSONValue] = []
        var i = 0
        while i < codes.count {
            var j = i
            while j + 1 < codes.count && codes[j + 1] == codes[j] &+ 1 { j += 1 }
            result.append(.array([.number(String(codes[i])), .number(String(codes[j]))]))
            i = j + 1
        }
        return result
    }

    /// Infers a profile from the messages of JSONL and HAR captures.
    public static func infer(paths: [String]) throws -> (profile: JSONValue, notes: [String], messages: Int) {
        var inference = ProfileInference()
        for path in paths {
            switch try CaptureFileKind.detect(path: path) {
            case .jsonl:
                try JSONLCaptureReader(path: path).forEach { line in
                    if line.kind.isMessage { inference.observe(Array(line.payload)) }
                }
            case .har:
                for record in try HARReader.read(path: path).records where record.kind.isMessage { inference.observe(record.payload) }
            case .pcap, .pcapng:
                throw BasetapError.input(place: path, message: "profile infer reads JSONL and HAR captures ('basetap decode' turns a pcap into JSONL)")
            }
        }
        let profile = inference.profile()
        return (profile, inference.notes, inference.messages)
    }
}

import Foundation

/// Members of a capture record that version 1 defines.
enum RecordField: Int, CaseIterable {
    case ts, conn, dir, kind, text, base64, frames, code, reason, url, headers, subprotocol, extensions
    case client, server, error, mutation, raw, request, finding, control, format, version

    static let count = allCases.count

    var name: StaticString {
        switch self {
        case .ts: "ts"
        case .conn: "conn"
        case .dir: "dir"
        case .kind: "kind"
        case .text: "text"
        case .base64: "base64"
        case .frames: "frames"
        case .code: "code"
        case .reason: "reason"
        case .url: "url"
        case .headers: "headers"
        case .subprotocol: "subprotocol"
        case .extensions: "extensions"
        case .client: "client"
        case .server: "server"
        case .error: "error"
        case .mutation: "mutation"
        case .raw: "raw"
        case .request: "request"
        case .finding: "finding"
        case .control: "control"
        case .format: "format"
        case .version: "version"
        }
    }

    private static let names = NameTable(allCases.map { ($0.name.description, $0) })

    static func lookup(_ view: JSONView, _ key: Int) -> RecordField? {
        view.memberName(key, names)
    }
}

/// A problem with one line; the reader turns it into an error naming the file and line.
struct LineProblem: Error {
    var message: String
}

/// One record of a JSONL capture as read, valid only inside the reader's callback: it points into
/// the reader's buffers so that checking a capture copies nothing but what it keeps.
public struct CaptureLine {
    public let kind: CaptureRecord.Kind
    public let dir: Direction?
    public let conn: String
    /// The message or control payload (text decoded from its JSON string, or base64 decoded).
    public let payload: UnsafeRawBufferPointer
    /// Where the payload's quotes are, when the record's string held no escape but `\"`
    /// (`JSONReader.decodedQuotes`): the checker then reads the message without scanning its strings again.
    public let payloadQuotes: UnsafeBufferPointer<Int32>?
    let view: JSONView
    let fields: UnsafeBufferPointer<Int>

    func field(_ f: RecordField) -> Int? {
        let index = fields[f.rawValue]
        return index >= 0 ? index : nil
    }

    /// Bytes sent as they were, not a message (see `CaptureRecord.raw`).
    public var isRaw: Bool { field(.raw).map { view[$0].kind == .true } ?? false }

    /// The whole record as a value, unknown members included.
    public func record() throws -> CaptureRecord {
        var record = CaptureRecord(
            ts: try optionalString(.ts) ?? "", conn: conn, dir: dir, kind: kind, payload: Array(payload))
        if let code = field(.code) {
            guard let value = view.int64(code), (0...65535).contains(value) else {
                throw LineProblem(message: "\"code\" must be an integer from 0 to 65535")
            }
            record.code = Int(value)
        }
        record.reason = try optionalString(.reason)
        record.url = try optionalString(.url)
        record.subprotocol = try optionalString(.subprotocol)
        record.extensions = try optionalString(.extensions)
        record.client = try optionalString(.client)
        record.server = try optionalString(.server)
        record.error = try optionalString(.error)
        if let headers = field(.headers) {
            record.headers = try parseHeaders(headers)
        }
        if let frames = field(.frames) {
            record.frames = try parseFrames(frames)
        }
        if let mutation = field(.mutation) {
            record.mutation = try parseMutation(mutation)
        }
        record.raw = isRaw
        record.request = try optionalString(.request)
        if let control = try optionalString(.control) {
            guard let mark = CaptureRecord.ControlMark(rawValue: control) else {
                throw LineProblem(message: "\"control\" is '\(control)', not one of \(CaptureRecord.ControlMark.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            record.control = mark
        }
        if let finding = field(.finding) {
            record.finding = try parseFinding(finding)
        }
        for (key, value) in view.members(0) where RecordField.lookup(view, key) == nil {
            record.unknown.append(JSONValue.Member(view.string(key), JSONValue(view, value)))
        }
        return record
    }

    private func optionalString(_ f: RecordField) throws(LineProblem) -> String? {
        guard let index = field(f) else { return nil }
        guard view[index].kind == .string else {
            throw LineProblem(message: "\"\(f)\" must be a string, not \(view[index].kind.withArticle)")
        }
        return view.string(index)
    }

    private func parseHeaders(_ index: Int) throws(LineProblem) -> [CaptureRecord.Header] {
        let problem = LineProblem(message: "\"headers\" must be an array of [name, value] string pairs")
        guard view[index].kind == .array else { throw problem }
        var headers: [CaptureRecord.Header] = []
        for pair in view.elements(index) {
            guard view[pair].kind == .array, view[pair].count == 2 else { throw problem }
            let name = pair + 1
            let value = Int(view[name].next)
            guard view[name].kind == .string, view[value].kind == .string else { throw problem }
            headers.append(CaptureRecord.Header(view.string(name), view.string(value)))
        }
        return headers
    }

    private func parseFrames(_ index: Int) throws(LineProblem) -> [CaptureRecord.Frame] {
        let problem = LineProblem(message: "\"frames\" must be an array of {fin, op, rsv, len, masked} objects")
        guard view[index].kind == .array else { throw problem }
        var frames: [CaptureRecord.Frame] = []
        for element in view.elements(index) {
            guard view[element].kind == .object else { throw problem }
            var frame = CaptureRecord.Frame(fin: true, opcode: 0, rsv: 0, length: 0, masked: false)
            if let v = view.member(element, "fin") { frame.fin = view[v].kind == .true }
            if let v = view.member(element, "op"), let n = view.int64(v), (0...15).contains(n) { frame.opcode = UInt8(n) } else { throw problem }
            if let v = view.member(element, "rsv"), let n = view.int64(v), (0...7).contains(n) { frame.rsv = UInt8(n) }
            if let v = view.member(element, "len"), let n = view.int64(v), n >= 0 { frame.length = Int(n) }
            if let v = view.member(element, "masked") { frame.masked = view[v].kind == .true }
            frames.append(frame)
        }
        return frames
    }

    private func parseFinding(_ index: Int) throws(LineProblem) -> CaptureRecord.FindingMark {
        let problem = LineProblem(message: "\"finding\" must be {\"oracle\": string, \"symptom\": string, \"detail\": string}")
        guard view[index].kind == .object else { throw problem }
        func member(_ name: StaticString) throws(LineProblem) -> String {
            guard let value = view.member(index, name), view[value].kind == .string else { throw problem }
            return view.string(value)
        }
        return CaptureRecord.FindingMark(oracle: try member("oracle"), symptom: try member("symptom"), detail: try member("detail"))
    }

    private func parseMutation(_ index: Int) throws(LineProblem) -> CaptureRecord.Mutation {
        let problem = LineProblem(message: "\"mutation\" must be {\"seed\": integer, \"ops\": [strings]}")
        guard view[index].kind == .object, let seedIndex = view.member(index, "seed"),
            let seed = UInt64(view.rawText(seedIndex))
        else { throw problem }
        var ops: [String] = []
        if let opsIndex = view.member(index, "ops") {
            guard view[opsIndex].kind == .array else { throw problem }
            for op in view.elements(opsIndex) {
                guard view[op].kind == .string else { throw problem }
                ops.append(view.string(op))
            }
        }
        return CaptureRecord.Mutation(seed: seed, ops: ops)
    }
}

/// Parses lines into `CaptureLine`s, reusing its buffers from line to line.
struct CaptureLineParser {
    private var reader = { var reader = JSONReader(); reader.findsDuplicateKeys = false; return reader }()
    private var payload: [UInt8] = []
    /// Recent connection ids as Strings, by a hash of their bytes: records of a few connections
    /// interleave, and a String made for each would cost an allocation per line.
    private var conns = [(bytes: [UInt8], string: String)](repeating: ([], ""), count: 32)

    enum Outcome<R> {
        case record(R)
        case skipped
    }

    mutating func parse<R>(_ line: UnsafeRawBufferPointer, _ body: (CaptureLine) throws -> R) throws -> Outcome<R> {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return .skipped }
        payload.removeAll(keepingCapacity: true)
        if let error = reader.parse(line, decoding: "text", into: &payload) { throw LineProblem(message: "not JSON: \(error)") }
        let decoded = reader.decodedNode
        // The fields' tape indices on the stack: an array of the parser's would be retained and
        // checked for sharing on every line.
        return try withUnsafeTemporaryAllocation(of: Int.self, capacity: RecordField.count) { fields in
            try reader.nodes.withUnsafeBufferPointer { nodes in
                let view = JSONView(bytes: line, nodes: nodes)
                guard view[0].kind == .object else {
                    throw LineProblem(message: "a record must be a JSON object, not \(view[0].kind.withArticle)")
                }
                fields.initialize(repeating: -1)
                for (key, value) in view.members(0) {
                    if let field = RecordField.lookup(view, key), fields[field.rawValue] < 0 { fields[field.rawValue] = value }
                }
                if fields[RecordField.format.rawValue] >= 0 {
                    try Self.checkHeader(view, format: fields[RecordField.format.rawValue], version: fields[RecordField.version.rawValue])
                    return .skipped
                }
                let kind = try Self.kind(view, fields[RecordField.kind.rawValue])
                var dir: Direction?
                if kind.hasDirection {
                    let index = fields[RecordField.dir.rawValue]
                    guard index >= 0 else { throw LineProblem(message: "a \(kind.rawValue) record needs \"dir\"") }
                    if view.stringEquals(index, "c2s") {
                        dir = .c2s
                    } else if view.stringEquals(index, "s2c") {
                        dir = .s2c
                    } else {
                        throw LineProblem(message: "\"dir\" must be \"c2s\" or \"s2c\"")
                    }
                }
                let conn = try conn(view, UnsafeBufferPointer(fields))
                try decodePayload(view, kind, UnsafeBufferPointer(fields), decoded: decoded)
                let quotes = kind == .text && decoded == fields[RecordField.text.rawValue] ? reader.decodedQuotes : nil
                return try payload.withUnsafeBytes { payloadBytes in
                    func line(_ quotes: UnsafeBufferPointer<Int32>?) -> CaptureLine {
                        CaptureLine(
                            kind: kind, dir: dir, conn: conn, payload: payloadBytes, payloadQuotes: quotes, view: view,
                            fields: UnsafeBufferPointer(fields))
                    }
                    guard let quotes else { return .record(try body(line(nil))) }
                    return try quotes.withUnsafeBufferPointer { .record(try body(line($0))) }
                }
            }
        }
    }

    private static func checkHeader(_ view: JSONView, format: Int, version: Int) throws {
        guard view[format].kind == .string, view.string(format) == "basetap-capture" else {
            throw LineProblem(message: "unknown capture format (expected \"format\": \"basetap-capture\")")
        }
        guard version >= 0, let v = view.int64(version) else {
            throw LineProblem(message: "the capture header needs an integer \"version\"")
        }
        guard v == 1 else { throw LineProblem(message: "capture version \(v) is not supported (this basetap reads version 1)") }
    }

    /// Static, like every helper called while the reader's nodes are borrowed: a method of the parser
    /// would have it copied, buffers and all, for each line.
    private static func kind(_ view: JSONView, _ index: Int) throws -> CaptureRecord.Kind {
        guard index >= 0 else { throw LineProblem(message: "record has no \"kind\"") }
        guard view[index].kind == .string else { throw LineProblem(message: "\"kind\" must be a string") }
        // The two kinds nearly every line has, by literal: no String is made for them.
        if view.stringEquals(index, "text") { return .text }
        if view.stringEquals(index, "open") { return .open }
        let name = view.string(index)
        guard let kind = CaptureRecord.Kind(rawValue: name) else {
            throw LineProblem(message: "unknown kind \(JSONString.quoted(name)) (expected open, text, binary, ping, pong, close or end)")
        }
        return kind
    }

    private mutating func conn(_ view: JSONView, _ fields: UnsafeBufferPointer<Int>) throws -> String {
        let index = fields[RecordField.conn.rawValue]
        guard index >= 0 else { throw LineProblem(message: "record has no \"conn\"") }
        guard view[index].kind == .string else { throw LineProblem(message: "\"conn\" must be a string") }
        return view.withStringBytes(index) { bytes in
            let slot = Int(truncatingIfNeeded: ByteHash.of(bytes) & 31)
            let cached = conns[slot].bytes.withUnsafeBytes { ByteCompare.equal($0, bytes) }
            if !cached { conns[slot] = (Array(bytes), String(decoding: bytes, as: UTF8.self)) }
            return conns[slot].string
        }
    }

    /// `decoded`: the string the reader has already decoded into `payload`, if any.
    private mutating func decodePayload(
        _ view: JSONView, _ kind: CaptureRecord.Kind, _ fields: UnsafeBufferPointer<Int>, decoded: Int
    ) throws {
        let text = fields[RecordField.text.rawValue]
        let base64 = fields[RecordField.base64.rawValue]
        if text >= 0 && kind == .text {
            guard view[text].kind == .string else { throw LineProblem(message: "\"text\" must be a string") }
            if decoded != text {
                payload.removeAll(keepingCapacity: true)
                let node = view[text]
                JSONString.decode(view.bytes, from: Int(node.start) + 1, to: Int(node.end) - 1, into: &payload)
            }
            return
        }
        payload.removeAll(keepingCapacity: true)
        if base64 >= 0 {
            guard view[base64].kind == .string, let data = Data(base64Encoded: view.string(base64)) else {
                throw LineProblem(message: "\"base64\" is not valid base64")
            }
            payload.append(contentsOf: data)
        } else if kind == .text || kind == .binary {
            throw LineProblem(message: "a \(kind.rawValue) record needs \(kind == .text ? "\"text\" or " : "")\"base64\"")
        }
    }
}

extension CaptureLineParser {
    /// The bytes of a record's `"conn"` string as they stand in the line, found without parsing it:
    /// for the lines basetap and other plain writers make (`{"ts":…,"conn":"…",…}`). Nil when the
    /// line is anything else (a member before it holds an object or an array, the key is spelled
    /// with spaces or escapes, the value has escapes): then only a parse can tell.
    static func quickConn(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let key: StaticString = "\"conn\":\""
        let keyLength = key.utf8CodeUnitCount
        guard line.count > keyLength, line[0] == UInt8(ascii: "{") else { return nil }
        if let conn = afterTimestamp(line) { return conn }
        var at = 1
        while true {
            guard let quote = ByteSearch.first(UInt8(ascii: "\""), in: line, at, line.count) else { return nil }
            at = quote
            guard line.count - at > keyLength else { return nil }
            if ByteCompare.equal(line.baseAddress! + at, key.utf8Start, count: keyLength) { break }
            at += 1
        }
        // A key follows `{` or `,`; inside a string a quote is always escaped, so a real key is found
        // first unless an earlier member nests (where another object's "conn" could stand).
        guard at > 0, line[at - 1] == UInt8(ascii: ",") || line[at - 1] == UInt8(ascii: "{") else { return nil }
        guard ByteSearch.first(UInt8(ascii: "{"), in: line, 1, at) == nil, ByteSearch.first(UInt8(ascii: "["), in: line, 1, at) == nil
        else { return nil }
        return plainString(line, from: at + keyLength)
    }

    /// The connection of a line laid out as basetap writes it, `{"ts":"…","conn":"…"`, found with
    /// two searches for a quote (a quote in the timestamp is escaped, and then the layout is not
    /// taken for sure).
    private static func afterTimestamp(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let head: StaticString = "{\"ts\":\"", between: StaticString = ",\"conn\":\""
        let base = line.baseAddress!
        guard line.count > head.utf8CodeUnitCount, ByteCompare.equal(base, head.utf8Start, count: head.utf8CodeUnitCount),
            let at = ByteSearch.first(UInt8(ascii: "\""), in: line, head.utf8CodeUnitCount, line.count)
        else { return nil }
        guard line[at - 1] != UInt8(ascii: "\\"), line.count - at > between.utf8CodeUnitCount + 1,
            ByteCompare.equal(base + at + 1, between.utf8Start, count: between.utf8CodeUnitCount)
        else { return nil }
        return plainString(line, from: at + 1 + between.utf8CodeUnitCount)
    }

    /// The contents of the string starting at `start` (past its quote), when it has no escape.
    private static func plainString(_ line: UnsafeRawBufferPointer, from start: Int) -> UnsafeRawBufferPointer? {
        guard let end = ByteSearch.first(UInt8(ascii: "\""), in: line, start, line.count),
            ByteSearch.first(UInt8(ascii: "\\"), in: line, start, end) == nil
        else { return nil }
        return UnsafeRawBufferPointer(rebasing: line[start..<end])
    }
}

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
    /// Whether the payload was given as `"base64"` rather than as a JSON string (which is valid UTF-8).
    public let payloadIsBase64: Bool
    /// Where the payload's quotes are, when the record's string held no escape but `\"`
    /// (`JSONReader.decodedQuotes`): the checker then reads the message without scanning its strings again.
    public let payloadQuotes: UnsafeBufferPointer<Int32>?
    let members: Members

    enum Members {
        /// Any record, as the general parse read it.
        case parsed(RecordMembers)
        /// A text message in the layout basetap writes, which has no member but these and its time.
        case plainText(ts: UnsafeRawBufferPointer)
    }

    /// Bytes sent as they were, not a message (see `CaptureRecord.raw`).
    public var isRaw: Bool {
        guard case .parsed(let members) = members else { return false }
        return members.isRaw
    }

    /// The whole record as a value, unknown members included.
    public func record() throws -> CaptureRecord {
        switch members {
        case .plainText(let ts):
            CaptureRecord(ts: String(decoding: ts, as: UTF8.self), conn: conn, dir: dir, kind: kind, payload: Array(payload))
        case .parsed(let members):
            try members.record(conn: conn, dir: dir, kind: kind, payload: payload)
        }
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
        if let plain = plainText(line) {
            let conn = conn(plain.conn)
            return try Self.deliver(payload, reader.decodedQuotes, body) { payload, quotes in
                CaptureLine(
                    kind: .text, dir: plain.dir, conn: conn, payload: payload, payloadIsBase64: false, payloadQuotes: quotes,
                    members: .plainText(ts: plain.ts))
            }
        }
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
                let conn = try conn(view, fields[RecordField.conn.rawValue])
                let base64 = try decodePayload(view, kind, UnsafeBufferPointer(fields), decoded: decoded)
                let quotes = kind == .text && decoded == fields[RecordField.text.rawValue] ? reader.decodedQuotes : nil
                return try Self.deliver(payload, quotes, body) { payload, quotes in
                    CaptureLine(
                        kind: kind, dir: dir, conn: conn, payload: payload, payloadIsBase64: base64, payloadQuotes: quotes,
                        members: .parsed(RecordMembers(view: view, fields: UnsafeBufferPointer(fields))))
                }
            }
        }
    }

    /// Reads a text message laid out as basetap writes it, `{"ts":"…","conn":"…","dir":"…","kind":"text","text":"…"}`
    /// with printable ASCII and no escape in its time and connection, without a tape: nearly every
    /// line of a capture, for a fraction of a parse (the message's string is decoded as the parse
    /// would). Nil for any other line, which the parse then reads, and says what is wrong with.
    private mutating func plainText(
        _ line: UnsafeRawBufferPointer
    ) -> (ts: UnsafeRawBufferPointer, conn: UnsafeRawBufferPointer, dir: Direction)? {
        var at = 0
        guard let (ts, conn) = Self.timeAndConn(line, &at), Self.skip(",\"dir\":\"", line, &at) else { return nil }
        let dir: Direction
        if Self.skip("c2s\"", line, &at) {
            dir = .c2s
        } else if Self.skip("s2c\"", line, &at) {
            dir = .s2c
        } else {
            return nil
        }
        guard Self.skip(",\"kind\":\"text\",\"text\":", line, &at), at < line.count, line[at] == UInt8(ascii: "\"") else { return nil }
        payload.removeAll(keepingCapacity: true)
        var flags: UInt8 = 0
        guard reader.decodeString(line, &at, into: &payload, flags: &flags) == nil, at == line.count - 1, line[at] == UInt8(ascii: "}")
        else { return nil }
        return (ts, conn, dir)
    }

    @inline(__always)
    private static func skip(_ literal: StaticString, _ line: UnsafeRawBufferPointer, _ at: inout Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard line.count - at >= count, ByteCompare.equal(line.baseAddress! + at, literal.utf8Start, count: count) else { return false }
        at += count
        return true
    }

    /// The contents of the string whose contents start at `at`, when they are printable ASCII with no
    /// escape; `at` then stands past its closing quote.
    @inline(__always)
    private static func asciiString(_ line: UnsafeRawBufferPointer, _ at: inout Int) -> UnsafeRawBufferPointer? {
        guard let end = JSONReader.plainStringEnd(line, from: at) else { return nil }
        defer { at = end + 1 }
        return UnsafeRawBufferPointer(rebasing: line[at..<end])
    }

    /// Calls `body` with the line `make` builds on the payload and its quotes (if known).
    private static func deliver<R>(
        _ payload: [UInt8], _ quotes: [Int32]?, _ body: (CaptureLine) throws -> R,
        _ make: (UnsafeRawBufferPointer, UnsafeBufferPointer<Int32>?) -> CaptureLine
    ) throws -> Outcome<R> {
        try payload.withUnsafeBytes { payload in
            guard let quotes else { return .record(try body(make(payload, nil))) }
            return try quotes.withUnsafeBufferPointer { .record(try body(make(payload, $0))) }
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

    private mutating func conn(_ view: JSONView, _ index: Int) throws -> String {
        guard index >= 0 else { throw LineProblem(message: "record has no \"conn\"") }
        guard view[index].kind == .string else { throw LineProblem(message: "\"conn\" must be a string") }
        return view.withStringBytes(index) { conn($0) }
    }

    private mutating func conn(_ bytes: UnsafeRawBufferPointer) -> String {
        let slot = Int(truncatingIfNeeded: ByteHash.of(bytes) & 31)
        let cached = conns[slot].bytes.withUnsafeBytes { ByteCompare.equal($0, bytes) }
        if !cached { conns[slot] = (Array(bytes), String(decoding: bytes, as: UTF8.self)) }
        return conns[slot].string
    }

    /// `decoded`: the string the reader has already decoded into `payload`, if any. Returns whether
    /// the payload was given as base64.
    private mutating func decodePayload(
        _ view: JSONView, _ kind: CaptureRecord.Kind, _ fields: UnsafeBufferPointer<Int>, decoded: Int
    ) throws -> Bool {
        let text = fields[RecordField.text.rawValue]
        let base64 = fields[RecordField.base64.rawValue]
        if text >= 0 && kind == .text {
            guard view[text].kind == .string else { throw LineProblem(message: "\"text\" must be a string") }
            if decoded != text {
                payload.removeAll(keepingCapacity: true)
                let node = view[text]
                JSONString.decode(view.bytes, from: Int(node.start) + 1, to: Int(node.end) - 1, into: &payload)
            }
            return false
        }
        payload.removeAll(keepingCapacity: true)
        if base64 >= 0 {
            guard view[base64].kind == .string, let data = Data(base64Encoded: view.string(base64)) else {
                throw LineProblem(message: "\"base64\" is not valid base64")
            }
            payload.append(contentsOf: data)
            return true
        } else if kind == .text || kind == .binary {
            throw LineProblem(message: "a \(kind.rawValue) record needs \(kind == .text ? "\"text\" or " : "")\"base64\"")
        }
        return false
    }
}

extension CaptureLineParser {
    /// The bytes of a record's `"conn"` string as they stand in the line, found without parsing it:
    /// for the lines basetap and other plain writers make (`{"ts":…,"conn":"…",…}`). Nil when the
    /// line is anything else (a member before it holds an object or an array, the key is spelled
    /// with spaces or escapes, the value is not printable ASCII without escapes): then only a parse
    /// can tell.
    static func quickConn(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let key: StaticString = "\"conn\":\""
        let keyLength = key.utf8CodeUnitCount
        guard line.count > keyLength, line[0] == UInt8(ascii: "{") else { return nil }
        var at = 0
        if let conn = timeAndConn(line, &at)?.conn { return conn }
        at = 1
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
        at += keyLength
        return asciiString(line, &at)
    }

    /// The first two members of a line laid out as basetap writes it, `{"ts":"…","conn":"…"`, both
    /// printable ASCII without escapes; `at` then stands past the connection's closing quote.
    @inline(__always)
    private static func timeAndConn(_ line: UnsafeRawBufferPointer, _ at: inout Int) -> (ts: UnsafeRawBufferPointer, conn: UnsafeRawBufferPointer)? {
        guard skip("{\"ts\":\"", line, &at), let ts = asciiString(line, &at), skip(",\"conn\":\"", line, &at),
            let conn = asciiString(line, &at)
        else { return nil }
        return (ts, conn)
    }
}

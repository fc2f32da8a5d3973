import Testing
@testable import BasetapKit

@Suite struct CaptureLineTests {
    /// Parses a one-member record and returns which field its key was taken for.
    static func field(ofKey key: String) -> RecordField? {
        var reader = JSONReader()
        let document = Array("{\(key):1}".utf8)
        return document.withUnsafeBytes { raw in
            #expect(reader.parse(raw) == nil)
            return reader.nodes.withUnsafeBufferPointer { RecordField.lookup(JSONView(bytes: raw, nodes: $0), 1) }
        }
    }

    @Test func everyFieldNameIsFoundAsItself() {
        for field in RecordField.allCases {
            let name = "\(field.name)"
            #expect(Self.field(ofKey: JSONString.quoted(name)) == field, "\(name)")
        }
    }

    @Test(arguments: [#""texts""#, #""Text""#, #""""#, #""t""#, #""conm""#, #""codes""#, #""verison""#])
    func otherKeysAreNoField(key: String) {
        #expect(Self.field(ofKey: key) == nil)
    }

    @Test func keysWithEscapesAreComparedDecoded() {
        #expect(Self.field(ofKey: #""t\u0065xt""#) == .text)
        #expect(Self.field(ofKey: #""con\u006e""#) == .conn)
    }

    /// The message is decoded as the record is read; a record whose first "text" is no string
    /// still gets the error, and a binary record's base64 is not mixed with it.
    @Test func readsTheMessageOfTextAndBinaryRecords() throws {
        var parser = CaptureLineParser()
        let lines = [
            #"{"ts":"2026-11-24T10:00:00Z","conn":"c","dir":"c2s","kind":"text","text":"{\"id\":\"\u00e9\"}"}"#,
            #"{"ts":"2026-11-24T10:00:00Z","conn":"c","dir":"c2s","kind":"binary","text":"ignored","base64":"AAE="}"#,
            #"{"conn":"c","dir":"s2c","kind":"text","text":"a","text":"b"}"#,
        ]
        let payloads = try lines.map { line in
            try Array(line.utf8).withUnsafeBytes { raw in
                guard case .record(let payload) = try parser.parse(raw, { Array($0.payload) }) else { return [UInt8]() }
                return payload
            }
        }
        #expect(payloads == [Array(#"{"id":"é"}"#.utf8), [0, 1], Array("a".utf8)])
        let wrong = Array(#"{"conn":"c","dir":"s2c","kind":"text","text":1,"text":"b"}"#.utf8)
        #expect(throws: LineProblem.self) { try wrong.withUnsafeBytes { try parser.parse($0) { _ in } } }
    }

    /// Connection ids are kept as Strings from line to line: ids that share a slot of that memory,
    /// lines that alternate between them, the empty id, and escapes must all come out as written.
    @Test func connectionIdsOfInterleavedRecordsComeOutAsWritten() throws {
        var parser = CaptureLineParser()
        var random = FuzzRandom(seed: 3)
        let ids = (0..<100).map { "10.0.0.\($0):4000>10.0.0.1:80" } + ["", "c", "é", "with \\\"quote\\\""]
        for _ in 0..<5_000 {
            let id = ids[Int(random.next() % UInt64(ids.count))]
            let line = Array(#"{"conn":"\#(id)","kind":"open"}"#.utf8)
            let conn = try line.withUnsafeBytes { raw -> String? in
                guard case .record(let conn) = try parser.parse(raw, { $0.conn }) else { return nil }
                return conn
            }
            #expect(conn == id.replacingOccurrences(of: "\\\"", with: "\""))
        }
    }

    /// What the quick search says a line's connection is, the parse says too; where the search
    /// cannot be sure it says nothing.
    @Test(arguments: [
        (#"{"ts":"2026-11-24T10:00:00.000012Z","conn":"10.0.0.8:40006>10.0.0.1:8080","kind":"open"}"#, true),
        (#"{"conn":"c1","kind":"open"}"#, true),
        (#"{"ts":"t","dir":"c2s","conn":"c1","kind":"open"}"#, true),
        (#"{"ts":"","conn":"","kind":"open"}"#, true),
        (#"{"ts":"a\",\"conn\":\"evil","conn":"real","kind":"open"}"#, true),
        (#"{"ts":"a\\","conn":"c1","kind":"open"}"#, true),
        (#"{"ts":"a\nb","conn":"c1","kind":"open"}"#, true),
        (#"{"ts":"t","conn":"c\u0031","kind":"open"}"#, false),
        (#"{"conn":"é","kind":"open"}"#, false),
        (#"{"ts": "t", "conn": "c1", "kind": "open"}"#, false),
        (#"{"frames":[{"conn":"x"}],"conn":"c1","kind":"open"}"#, false),
        (#"{"ts":"t","conn":1,"kind":"open"}"#, false),
        (#"{"ts":"t","kind":"open"}"#, false),
        (#"{"ts":"t","conn":"unterminated"#, false),
    ])
    func theQuickConnectionIsTheParsedOne(line: String, quick: Bool) throws {
        var parser = CaptureLineParser()
        let bytes = Array(line.utf8)
        let found = bytes.withUnsafeBytes { CaptureLineParser.quickConn($0).map { Array($0) } }
        let parsed = try? bytes.withUnsafeBytes { raw -> String? in
            guard case .record(let conn) = try parser.parse(raw, { $0.conn }) else { return nil }
            return conn
        }
        if let found {
            #expect(String(decoding: found, as: UTF8.self) == parsed, "\(line)")
        }
        #expect((found != nil) == quick || (quick && found == nil && parsed == nil), "\(line)")
    }

    /// Everything a line gives the reader's callback, or that it was refused.
    struct Read: Equatable {
        var kind: CaptureRecord.Kind
        var dir: Direction?
        var conn: String
        var payload: [UInt8]
        var payloadIsBase64: Bool
        var quotes: [Int32]?
        var isRaw: Bool
        var record: CaptureRecord
        var plain: Bool
    }

    static func read(_ line: [UInt8], _ parser: inout CaptureLineParser) -> Read?? {
        do {
            return try line.withUnsafeBytes { raw in
                guard case .record(let read) = try parser.parse(raw, { line in
                    var plain = false
                    if case .plainText = line.members { plain = true }
                    return Read(
                        kind: line.kind, dir: line.dir, conn: line.conn, payload: Array(line.payload), payloadIsBase64: line.payloadIsBase64,
                        quotes: line.payloadQuotes.map(Array.init), isRaw: line.isRaw, record: try line.record(), plain: plain)
                }) else { return .some(nil) }
                return read
            }
        } catch {
            return nil
        }
    }

    /// A text message in the layout basetap writes is read without the general parse, and comes
    /// out as the parse reads it: the same line behind a space (which only the parse takes) is the
    /// reference. Lines near the layout, and every line with one byte changed, must agree too.
    @Test func theLayoutBasetapWritesIsReadAsTheParseReadsIt() {
        var parser = CaptureLineParser()
        var random = FuzzRandom(seed: 11)
        let pieces = ["{", "}", "\"", "\\", "\n", "\u{01}", "é", "x", "id", ":", "\u{7F}", " ", "\u{1F600}"]
        var lines: [[UInt8]] = [
            #"{"ts":"t","conn":"c","dir":"c2s","kind":"text","text":"{\"a\":1}"}"#,
            #"{"ts":"t","conn":"c","dir":"s2c","kind":"text","text":"{\"a\":\"\u00e9\\n\"}"}"#,
            #"{"ts":"t","conn":"c","dir":"s2c","kind":"text","text":""}"#,
            #"{"ts":"","conn":"","dir":"c2s","kind":"text","text":"x"}"#,
            #"{"ts":"t\u0031","conn":"c","dir":"c2s","kind":"text","text":"x"}"#,
            #"{"ts":"t","conn":"é","dir":"c2s","kind":"text","text":"x"}"#,
            #"{"ts":"t","conn":"c","dir":"c2x","kind":"text","text":"x"}"#,
            #"{"ts":"t","conn":"c","dir":"c2s","kind":"text","text":"x","raw":true}"#,
            #"{"ts":"t","conn":"c","dir":"c2s","kind":"text","text":"x"} "#,
            #"{"ts":"t","conn":"c","dir":"c2s","kind":"text","text":"\x"}"#,
            #"{"ts":"t","conn":"c","dir":"c2s","kind":"text","text":"x}"#,
            #"{"ts":"t","conn":"c","dir":"c2s","kind":"text","text":1}"#,
            #"{"ts":"t","conn":"c","dir":"c2s","kind":"binary","base64":"AAE="}"#,
        ].map { Array($0.utf8) }
        for _ in 0..<400 {
            let text = (0..<Int(random.next() % 12)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
            let record = CaptureRecord(
                ts: "2026-12-06T10:00:00.\(random.next() % 1_000_000)Z", conn: "10.0.0.\(random.next() % 9):40000>10.0.0.1:80",
                dir: random.next() % 2 == 0 ? .c2s : .s2c, kind: .text, payload: Array(text.utf8))
            var line: [UInt8] = []
            record.appendJSONLine(into: &line)
            line.removeLast()
            lines.append(line)
            var changed = line
            changed[Int(random.next() % UInt64(line.count))] = UInt8(truncatingIfNeeded: random.next())
            lines.append(changed)
        }
        var plain = 0
        for line in lines {
            let read = Self.read(line, &parser)
            var reference = Self.read([UInt8(ascii: " ")] + line, &parser)
            if case .some(.some(var parsed)) = reference {
                #expect(!parsed.plain)
                parsed.plain = true
                reference = parsed
            }
            if case .some(.some(let read)) = read, read.plain {
                plain += 1
                #expect(read == reference, "\(String(decoding: line, as: UTF8.self))")
            } else {
                #expect(read.map { $0.map(\.payload) } == reference.map { $0.map(\.payload) }, "\(String(decoding: line, as: UTF8.self))")
            }
        }
        #expect(plain > 400)
    }
}

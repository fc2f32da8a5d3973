import Testing
@testable import BasetapKit

/// Parses `text` and returns the error, or the issues as (kind, pointer).
private func read(_ text: String, maxDepth: Int = 512) -> Result<[(JSONIssue.Kind, String)], JSONSyntaxError> {
    read(Array(text.utf8), maxDepth: maxDepth)
}

private func read(_ bytes: [UInt8], maxDepth: Int = 512) -> Result<[(JSONIssue.Kind, String)], JSONSyntaxError> {
    var reader = JSONReader(maxDepth: maxDepth)
    return bytes.withUnsafeBytes { raw in
        if let error = reader.parse(raw) { return .failure(error) }
        return .success(reader.issues.map { ($0.kind, $0.pointer) })
    }
}

private func syntaxError(_ text: String) -> JSONSyntaxError? {
    if case .failure(let error) = read(text) { return error }
    return nil
}

@Suite struct JSONReaderTests {
    @Test func keepsMemberOrderOffsetsAndExactNumbers() throws {
        let text = #"{"z":1,"a":[true,false,null],"n":12345678901234567890123,"f":-0.5e-3}"#
        let value = try JSONValue(parsing: text)
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["z", "a", "n", "f"])
        #expect(value["n"] == .number("12345678901234567890123"))
        #expect(value["f"] == .number("-0.5e-3"))
        #expect(value.jsonText == text)
        var reader = JSONReader()
        let start = Array(text.utf8).withUnsafeBytes { raw -> Int32 in
            #expect(reader.parse(raw) == nil)
            return reader.nodes[4].start  // "a"'s value: the array
        }
        #expect(start == 11)
    }

    @Test(arguments: [
        (#"{"id":1,"id":2}"#, "/id"),
        (#"{"a":{"b":[0,{"x":1,"y":2,"x":3}]}}"#, "/a/b/1/x"),
        (#"{"a":1,"\u0061":2}"#, "/a"),
        (#"{"a/b":1,"a/b":2}"#, "/a~1b"),
        (#"{"m~n":{"k":1,"k":2}}"#, "/m~0n/k"),
        (#"[{"p":{"q":[[{"d":1,"d":1}]]}}]"#, "/0/p/q/0/0/d"),
    ])
    func reportsDuplicateKeysWithPointers(text: String, pointer: String) throws {
        let issues = try read(text).get()
        #expect(issues.count == 1)
        #expect(issues.first?.0 == .duplicateKey)
        #expect(issues.first?.1 == pointer)
    }

    /// Keys of small objects are told apart by length and first and last bytes before they are
    /// compared: keys alike in those and different inside are not duplicates, escaped keys still are.
    @Test func smallObjectsCompareKeysThatLookAlikeInFull() throws {
        #expect(try read(#"{"abc":1,"axc":2,"ac":3,"abbc":4}"#).get().isEmpty)
        #expect(try read(#"{"":1,"x":2,"":3}"#).get().map(\.1) == ["/"])
        #expect(try read(#"{"\u0061bc":1,"q":2,"abc":3}"#).get().map(\.1) == ["/abc"])
        #expect(try read(#"{"abc":1,"q":2,"a\u0062c":3}"#).get().map(\.1) == ["/abc"])
        #expect(try read(#"{"k1":1,"k2":2,"k1":3,"k2":4,"k1":5}"#).get().map(\.1) == ["/k1", "/k2", "/k1"])
    }

    @Test func findsDuplicatesInLargeObjectsAndEveryRepeat() throws {
        var members = (0..<100).map { "\"k\($0)\":\($0)" }
        members.append(#""k7":0"#)
        members.append(#""k7":1"#)
        members.append(#""k\u0039\u0039":2"#)
        let issues = try read("{" + members.joined(separator: ",") + "}").get()
        #expect(issues.map(\.1) == ["/k7", "/k7", "/k99"])
    }

    @Test(arguments: [
        ("9007199254740991", false), ("-9007199254740991", false), ("9007199254740992", true),
        ("-9007199254740992", true), ("12345678901234567890", true), ("1000000000000000", false),
        ("9007199254740993.0", false), ("1e400", false), ("0", false),
    ])
    func flagsIntegersBeyondTwoToThe53(literal: String, unsafe: Bool) throws {
        let issues = try read(#"{"n":[\#(literal)]}"#).get()
        #expect(issues.count == (unsafe ? 1 : 0))
        if unsafe { #expect(issues.first?.1 == "/n/0") }
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONValue(parsing: #"["\ud83d\ude00","\u00e9\n\t\"\\\/","\u0000"]"#)
        #expect(value == .array([.string("😀"), .string("é\n\t\"\\/"), .string("\u{0}")]))
    }

    @Test(arguments: [
        #"["\ud83d"]"#, #"["\ude00"]"#, #"["\ud83dx"]"#, #"["\ud83d\u0041"]"#, #"["\x"]"#, #"["\u12"]"#,
        "[\"a\u{1}b\"]", #"[01]"#, #"[-]"#, #"[1.]"#, #"[.5]"#, #"[+1]"#, #"[1e]"#, #"[tru]"#, #"[nul]"#,
        #"{"a":1,}"#, #"[1,]"#, #"{"a" 1}"#, #"{a:1}"#, #"{'a':1}"#, "", "   ", #"{} x"#, #"{}{}"#,
        #"{"a":"#, #"[1,2"#, #""abc"#, #"{"a""#, "/* c */ {}",
    ])
    func rejectsMalformedDocuments(text: String) {
        let error = syntaxError(text)
        #expect(error?.kind == .syntax, "\(text) should be a syntax error")
    }

    @Test(arguments: [
        [0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
        [0x22, 0xE2, 0x82, 0x22], [0x22, 0x80, 0x22],
    ] as [[UInt8]])
    func rejectsInvalidUTF8AndNamesTheOffset(bytes: [UInt8]) {
        guard case .failure(let error) = read(bytes) else {
            Issue.record("accepted invalid UTF-8")
            return
        }
        #expect(error.kind == .syntax)
        #expect(error.offset == 1)
        #expect(error.message.contains("UTF-8"))
    }

    @Test func acceptsValidMultibyteUTF8() throws {
        _ = try read(Array("{\"t\":\"ünïcødé ✓ 😀 \u{10FFFF}\"}".utf8)).get()
    }

    @Test func stopsDeepNestingWithADepthErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        guard case .failure(let error) = read(deep) else {
            Issue.record("accepted 100 000 levels")
            return
        }
        #expect(error.kind == .depth)
        #expect(error.offset == 512)
        let objects = String(repeating: #"{"a":"#, count: 100_000)
        guard case .failure(let objectError) = read(objects) else { return }
        #expect(objectError.kind == .depth)
    }

    @Test func acceptsExactlyTheDepthLimit() throws {
        let limit = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try read(limit).get()
        let over = "[" + limit + "]"
        guard case .failure(let error) = read(over) else {
            Issue.record("accepted 513 levels")
            return
        }
        #expect(error.kind == .depth)
    }

    @Test func reusesTheReaderAcrossDocuments() throws {
        var reader = JSONReader()
        for text in [#"{"a":[1,2,3]}"#, "true", #"{"b":{"c":{}}}"#] {
            let count = Array(text.utf8).withUnsafeBytes { raw -> Int in
                #expect(reader.parse(raw) == nil)
                return reader.nodes.count
            }
            #expect(count == [6, 1, 5][[#"{"a":[1,2,3]}"#, "true", #"{"b":{"c":{}}}"#].firstIndex(of: text)!])
        }
    }

    /// A member's string decoded in the scan that validates it must be what decoding it afterwards
    /// gives, and every error must be the one the plain parse reports, at the same offset: random
    /// strings of escapes, multibyte and invalid UTF-8, control bytes and quotes, at every offset of a word.
    @Test func decodingAMemberAsItIsReadAgreesWithDecodingItAfter() {
        let pieces: [[UInt8]] = [
            Array("plain".utf8), Array(#"\""#.utf8), Array(#"\\"#.utf8), Array(#"\/"#.utf8), Array(#"\n\t\r\b\f"#.utf8),
            Array(#"\u00e9"#.utf8), Array(#"\uD834\uDD1E"#.utf8), Array("é€𝄞".utf8), Array(#"{\"id\":\"m1\"}"#.utf8),
            Array(#"\u12"#.utf8), Array(#"\uDC00"#.utf8), Array(#"\uD800x"#.utf8), Array(#"\x"#.utf8),
            [0x01], [0xFF], [0xC0, 0xAF], [0xE2, 0x82], [UInt8(ascii: "\"")],
        ]
        var random = FuzzRandom(seed: 13)
        var reader = JSONReader()
        var checked = 0
        for round in 0..<20_000 {
            var string = [UInt8](repeating: UInt8(ascii: "x"), count: round % 19)
            for _ in 0..<Int(random.next() % 5) {
                // Mostly valid pieces, so that most documents parse and their decoding is compared.
                let valid = Int(random.next() % 4) != 0
                string += pieces[Int(random.next() % UInt64(valid ? 9 : pieces.count))]
            }
            let layouts = [
                #"{"a":1,"text":"S","b":"S"}"#, #"{"text":"S","text":"other"}"#, #"{"o":{"text":"S"},"text":"S"}"#,
                #"{"text":["S"],"b":"S"}"#, #"["S"]"#, #"{"text":"S""#,
            ]
            let layout = Array(layouts[round % layouts.count].utf8)
            var document: [UInt8] = []
            for b in layout { if b == UInt8(ascii: "S") { document += string } else { document.append(b) } }
            document.withUnsafeBytes { raw in
                var plainReader = JSONReader()
                let plain = plainReader.parse(raw)
                var decoded: [UInt8] = [1, 2]
                let fused = reader.parse(raw, decoding: "text", into: &decoded)
                #expect(fused == plain, "\(document)")
                guard fused == nil else { return }
                #expect(reader.nodes.count == plainReader.nodes.count)
                reader.nodes.withUnsafeBufferPointer { nodes in
                    let view = JSONView(bytes: raw, nodes: nodes)
                    let expected = view[0].kind == .object ? view.member(0, "text").flatMap { view[$0].kind == .string ? $0 : nil } : nil
                    #expect(reader.decodedNode == (expected ?? -1), "\(document)")
                    if let expected {
                        #expect(decoded == [1, 2] + view.stringBytes(expected), "\(document)")
                        checked += 1
                    } else {
                        #expect(decoded == [1, 2])
                    }
                }
            }
        }
        #expect(checked > 5_000)
    }

    /// A capture's message held in a record string whose only escapes are `\"`: read at the quotes
    /// the record's scan found, it must give the tape, the issues and the errors a plain parse
    /// gives, on random messages valid and broken (unterminated strings, stray quotes, duplicate
    /// keys, unsafe integers, multibyte text); and with any other escape there are no quotes to use.
    @Test func aMessageReadAtTheQuotesOfItsRecordIsReadAsIfScanned() {
        let tokens: [String] = [
            "{", "}", "[", "]", ":", ",", ",", "\"id\"", "\"type\"", "\"id\":", "\"é€𝄞\"", "\"\"", "\"a b\"",
            "12", "-0.5e3", "123456789012345678901", "true", "null", "\"", "\"unterminated", " ", "x",
            "{\"a\":1,\"a\":2}", "[\"s\",{\"k\":\"v\"}]", "\\", "\n",
        ]
        var random = FuzzRandom(seed: 2027)
        var scanned = JSONReader(), known = JSONReader(), record = JSONReader()
        var withQuotes = 0, without = 0
        for _ in 0..<20_000 {
            var message = ""
            for _ in 0..<Int(random.next() % 12) { message += tokens[Int(random.next() % UInt64(tokens.count))] }
            if random.next() % 3 == 0 { message = "{\"id\":\"m\(random.next() % 100)\",\"p\":[" + message + "]}" }
            let escaped = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
            let line = Array("{\"kind\":\"text\",\"text\":\"\(escaped)\"}".utf8)
            var payload: [UInt8] = []
            let recordError = line.withUnsafeBytes { record.parse($0, decoding: "text", into: &payload) }
            #expect(recordError == nil, "\(message)")
            #expect(payload == Array(message.utf8))
            guard let quotes = record.decodedQuotes else {
                #expect(message.contains("\\") || message.contains("\n"), "\(message)")
                without += 1
                continue
            }
            #expect(!message.contains("\\") && !message.contains("\n"))
            withQuotes += 1
            payload.withUnsafeBytes { raw in
                let plain = scanned.parse(raw)
                let fast = quotes.withUnsafeBufferPointer { known.parse(raw, quotes: $0) }
                #expect(fast == plain, "\(message)")
                guard plain == nil, fast == nil else { return }
                #expect(known.nodes.map { [Int($0.kind.rawValue), Int($0.flags), Int($0.start), Int($0.end), Int($0.next), Int($0.count)] }
                    == scanned.nodes.map { [Int($0.kind.rawValue), Int($0.flags), Int($0.start), Int($0.end), Int($0.next), Int($0.count)] },
                    "\(message)")
                #expect(known.issues.map { "\($0.kind) \($0.pointer) \($0.message)" } == scanned.issues.map { "\($0.kind) \($0.pointer) \($0.message)" })
            }
        }
        #expect(withQuotes > 10_000)
        #expect(without > 1_000)
    }
}

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
}

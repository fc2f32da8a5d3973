import Testing
@testable import BasetapKit

/// The findings for one message as "rule pointer" strings, in order.
func findings(_ text: String, binary: Bool = false) -> [String] {
    findings(Array(text.utf8), binary: binary)
}

func findings(_ bytes: [UInt8], binary: Bool = false) -> [String] {
    var checker = MessageChecker()
    checker.check(bytes, binary: binary)
    return checker.findings.map { "\($0.rule.id) \($0.pointer)" }
}

/// A valid message with `members` replacing or adding top-level members (raw JSON values).
func message(_ members: [(String, String)] = [], drop: [String] = []) -> String {
    var base: [(String, String)] = [
        ("id", #""r1""#), ("type", #""chat.send""#), ("from", #""@alice@example.org""#),
        ("to", ##""#room:example.org""##), ("payload", #"{"text":"hi"}"#),
    ]
    for (key, value) in members {
        if let i = base.firstIndex(where: { $0.0 == key }) { base[i].1 = value } else { base.append((key, value)) }
    }
    base.removeAll { drop.contains($0.0) }
    return "{" + base.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
}

@Suite struct MessageCheckerTests {
    @Test func aValidMessageHasNoFindings() {
        #expect(findings(message()) == [])
        #expect(findings(message([("ok", "true")])) == [])
        #expect(findings(message([("from", #""""#), ("to", #""""#)])) == [])
        #expect(findings(message([("payload", "{}")])) == [])
    }

    /// Members are known by their decoded names, escapes or not, and names that only look alike are unknown.
    @Test func membersAreKnownByTheirDecodedNames() {
        let escaped = #"{"\u0069d":"r1","typ\u0065":"chat.send","fr\u006fm":"","t\u006f":"","\u006fk":true,"p\u0061yload":{}}"#
        #expect(findings(escaped) == [])
        #expect(findings(message([("iD", "1"), ("payloads", "{}"), ("", "1")])) == [
            "envelope.unknown-member /iD", "envelope.unknown-member /payloads", "envelope.unknown-member /",
        ])
    }

    /// Every rule of PROTOCOL.md §1-§4: a message that breaks it, and the exact findings.
    @Test(arguments: [
        // json.syntax
        (#"{"id":"1""#, ["json.syntax "]),
        ("not json", ["json.syntax "]),
        // json.depth
        (String(repeating: "[", count: 600), ["json.depth "]),
        // json.duplicate-key
        (message([("payload", #"{"a":{"b":1,"b":2}}"#)]), ["json.duplicate-key /payload/a/b"]),
        (#"{"id":"1","id":"1","type":"t","from":"","to":"","payload":{}}"#, ["json.duplicate-key /id"]),
        // json.unsafe-integer
        (message([("payload", #"{"n":-9007199254740992}"#)]), ["json.unsafe-integer /payload/n"]),
        // envelope.not-object
        ("[]", ["envelope.not-object "]), ("\"text\"", ["envelope.not-object "]), ("42", ["envelope.not-object "]),
        // envelope.missing
        (message(drop: ["id"]), ["envelope.missing /id"]),
        (message(drop: ["type"]), ["envelope.missing /type"]),
        (message(drop: ["from", "to"]), ["envelope.missing /from", "envelope.missing /to"]),
        (message(drop: ["payload"]), ["envelope.missing /payload"]),
        // envelope.type
        (message([("ok", #""true""#)]), ["envelope.type /ok"]),
        (message([("id", "7")]), ["envelope.type /id"]),
        (message([("type", "null")]), ["envelope.type /type"]),
        (message([("from", "[]")]), ["envelope.type /from"]),
        (message([("payload", "[]")]), ["envelope.type /payload"]),
        (message([("payload", "null")]), ["envelope.type /payload"]),
        // envelope.empty
        (message([("id", #""""#)]), ["envelope.empty /id"]),
        (message([("type", #""""#)]), ["envelope.empty /type"]),
        // envelope.unknown-member
        (message([("ts", "1")]), ["envelope.unknown-member /ts"]),
        (message([("a/b", "1")]), ["envelope.unknown-member /a~1b"]),
        // id.syntax
        (message([("from", #""@Alice@example.org""#)]), ["id.syntax /from"]),
        (message([("to", #""example.org:65536""#)]), ["id.syntax /to"]),
        (message([("to", #""\u0023bad room:x""#)]), ["id.syntax /to"]),
        // id.room-not-uuid
        (message([("to", #""!lobby@example.org""#)]), ["id.room-not-uuid /to"]),
        // error.missing
        (message([("type", #""chat.send:error""#), ("payload", #"{"errText":"x"}"#)]), ["error.missing /payload/errCode"]),
        (message([("type", #""chat.send:error""#), ("payload", #"{"errCode":1}"#)]), ["error.missing /payload/errText"]),
        // error.type
        (message([("type", #""a:error""#), ("payload", #"{"errCode":1.5,"errText":"x"}"#)]), ["error.type /payload/errCode"]),
        (message([("type", #""a:error""#), ("payload", #"{"errCode":"1","errText":"x"}"#)]), ["error.type /payload/errCode"]),
        (message([("type", #""a:error""#), ("payload", #"{"errCode":1e2,"errText":"x"}"#)]), ["error.type /payload/errCode"]),
        (message([("type", #""a:error""#), ("payload", #"{"errCode":1,"errText":2}"#)]), ["error.type /payload/errText"]),
        (message([("type", #""a:error""#), ("payload", #"{"errCode":1,"errText":"x","errPayload":[]}"#)]), ["error.type /payload/errPayload"]),
        // error.bare
        (message([("type", #"":error""#), ("payload", #"{"errCode":1,"errText":"x"}"#)]), ["error.bare /type"]),
        // error.ok-true
        (message([("type", #""a:error""#), ("ok", "true"), ("payload", #"{"errCode":1,"errText":"x"}"#)]), ["error.ok-true /ok"]),
        // ok.false-without-error
        (message([("ok", "false")]), ["ok.false-without-error /ok"]),
    ])
    func reportsEachRule(text: String, expected: [String]) {
        #expect(findings(text) == expected, "\(text)")
    }

    @Test(arguments: [
        message([("type", #""a:error""#), ("payload", #"{"errCode":0,"errText":"x","errPayload":{}}"#)]),
        message([("type", #""a:error""#), ("ok", "false"), ("payload", #"{"errCode":-7,"errText":""}"#)]),
        message([("to", #""!6f1c0a52-8d0e-4c36-9a55-3c2d1b7e0f11@example.org""#)]),
        message([("payload", #"{"n":9007199254740991,"f":1e300}"#)]),
        message([("ok", "false"), ("type", #""x:error""#), ("payload", #"{"errCode":1,"errText":"x"}"#)]),
    ])
    func cleanCasesOfTheSameRulesPass(text: String) {
        #expect(findings(text) == [], "\(text)")
    }

    @Test func binaryMessagesAreReportedThenCheckedWhenJSON() {
        #expect(findings(message([("id", "1")]), binary: true) == ["frame.binary-json ", "envelope.type /id"])
        #expect(findings([0x00, 0xFF, 0x10], binary: true) == ["frame.binary "])
    }

    @Test func invalidUTF8TextIsASyntaxError() {
        var bytes = Array(message().utf8)
        bytes.insert(0xFF, at: bytes.count - 3)
        #expect(findings(bytes) == ["json.syntax "])
    }

    @Test func theFirstCopyOfADuplicatedEnvelopeMemberIsTheOneChecked() {
        var checker = MessageChecker()
        let envelope = checker.check(Array(#"{"id":"a","type":"one","type":"two","from":"","to":"","payload":{}}"#.utf8))
        #expect(envelope == MessageChecker.Envelope(id: "a", type: "one"))
        #expect(checker.findings.map(\.rule) == [.jsonDuplicateKey])
    }

    @Test func messagesNameTheWrongPart() {
        var checker = MessageChecker()
        checker.check(Array(message([("from", #""@alice@example.org:65536""#)]).utf8))
        #expect(checker.findings.first?.message.contains("port 65536 is out of range 1-65535") == true)
        checker.check(Array(#"{"id":1}"#.utf8))
        #expect(checker.findings.first?.message == #""id" must be a string, not a number"#)
        checker.check(Array(#"{"id":[],"type":{}}"#.utf8))
        #expect(checker.findings.map(\.message).prefix(2) == [#""id" must be a string, not an array"#, #""type" must be a string, not an object"#])
    }
}

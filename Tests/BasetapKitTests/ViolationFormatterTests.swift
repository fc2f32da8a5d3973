import Testing
@testable import BasetapKit

@Suite struct ViolationFormatterTests {
    private static let plain = ViolationFormatter(format: .text, style: Style(enabled: false))
    private static let jsonl = ViolationFormatter(format: .jsonl, style: Style(enabled: false))

    @Test func aTextLineNamesThePlaceTheRuleAndTheMessage() {
        let full = Violation(conn: "c1", dir: .c2s, index: 7, rule: Rule.idSyntax, pointer: "/from", message: "no server part",
                             type: "chat.send", id: "abcd", offset: 1263)
        #expect(Self.plain.line(full) == "c1 c2s[7] @1263 error id.syntax /from: no server part (type chat.send, id abcd)\n")
        let bare = Violation(conn: "c2", dir: nil, index: nil, rule: Rule.jsonSyntax, pointer: "", message: "not JSON", type: "", id: "")
        #expect(Self.plain.text(bare) == #"c2 error json.syntax "": not JSON (type "", id "")"#)
        let long = Violation(conn: "c3", dir: .s2c, index: 0, rule: Rule.typeUnknown, pointer: "/type", message: "m",
                             type: String(repeating: "t", count: 100))
        #expect(Self.plain.text(long).count < 120, "a long type is shortened")
    }

    /// A profile can make a warning an error: the line shows the severity it was reported with.
    @Test func theReportedSeverityIsShownNotTheRulesDefault() {
        let raised = Violation(conn: "c1", dir: .s2c, index: 2, rule: Rule.typeUnknown, severity: .error, pointer: "/type", message: "m")
        #expect(Self.plain.text(raised).contains(" error type.unknown "))
        #expect(Self.jsonl.line(raised).contains(#""severity":"error""#))
    }

    @Test func colorsOnlyWhenStyled() {
        let violation = Violation(conn: "c1", dir: .c2s, index: 0, rule: Rule.jsonSyntax, pointer: "", message: "m")
        let styled = ViolationFormatter(format: .text, style: Style(enabled: true)).text(violation)
        #expect(styled.contains("\u{1B}[1;31merror\u{1B}[0m"))
        #expect(!Self.plain.text(violation).contains("\u{1B}"))
    }

    /// The JSONL form is PROTOCOL.md §7's record, escaped so that any conn, message or id reads back.
    @Test func jsonlReadsBackWithEveryMember() throws {
        let violation = Violation(conn: "c\"1", dir: .s2c, index: 3, rule: Rule.envelopeMissing, pointer: "/a~1b",
                                  message: "line\none \u{1}", type: "t\\", id: "é", offset: 9)
        let line = Self.jsonl.line(violation)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let value = try JSONValue(parsing: String(line.dropLast()))
        #expect(value["conn"] == JSONValue.string("c\"1"))
        #expect(value["dir"] == JSONValue.string("s2c"))
        #expect(value["index"] == JSONValue.number("3"))
        #expect(value["rule"] == JSONValue.string("envelope.missing"))
        #expect(value["severity"] == JSONValue.string("error"))
        #expect(value["pointer"] == JSONValue.string("/a~1b"))
        #expect(value["message"] == JSONValue.string("line\none \u{1}"))
        #expect(value["type"] == JSONValue.string("t\\"))
        #expect(value["id"] == JSONValue.string("é"))
        #expect(value["offset"] == JSONValue.number("9"))
        let bare = try JSONValue(parsing: String(Self.jsonl.line(Violation(conn: "c", dir: nil, index: nil, rule: Rule.jsonSyntax,
                                                                            pointer: "", message: "m")).dropLast()))
        if case .object(let members) = bare {
            #expect(members.map { $0.key } == ["conn", "rule", "severity", "pointer", "message"])
        } else {
            Issue.record("not an object: \(bare)")
        }
    }

    @Test func theSummaryCountsByRuleMostFrequentFirst() {
        var summary = CheckSummary()
        summary.messages = 1
        summary.connections = 2
        let violations = [
            Violation(conn: "c", dir: .c2s, index: 0, rule: Rule.idSyntax, pointer: "", message: "m"),
            Violation(conn: "c", dir: .c2s, index: 1, rule: Rule.jsonUnsafeInteger, pointer: "", message: "m"),
            Violation(conn: "c", dir: .c2s, index: 2, rule: Rule.jsonUnsafeInteger, pointer: "", message: "m"),
            Violation(conn: "c", dir: .c2s, index: 3, rule: Rule.envelopeMissing, pointer: "", message: "m"),
            Violation(conn: "c", dir: .c2s, index: 4, rule: Rule.jsonUnsafeInteger, severity: .error, pointer: "", message: "m"),
        ]
        for violation in violations { summary.count(violation) }
        summary.badLines = 1
        summary.chainEvicted = 4
        #expect(Self.plain.summary(summary) == """
            Checked 1 message in 2 connections: 3 errors, 2 warnings.
              warning json.unsafe-integer  2
              error   envelope.missing     1
              error   id.syntax            1
              error   json.unsafe-integer  1
              1 malformed line skipped
              4 requests forgotten past the open-id limit (--max-open-ids); chain rules may miss them

            """)
        #expect(Self.plain.summary(CheckSummary()) == "Checked 0 messages in 0 connections: 0 errors, 0 warnings.\n")
    }
}

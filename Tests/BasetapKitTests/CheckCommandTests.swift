import Foundation
import Testing
@testable import BasetapKit

/// `basetap check` as a user runs it: a real process, real files, real exit codes.
@Suite struct CheckCommandTests {
    @Test func aCleanCaptureExitsZero() throws {
        let result = try runBasetap(["check", capturePath("clean-session.jsonl")])
        #expect(result.status == 0)
        #expect(result.stdout == "Checked 10 messages in 1 connection: 0 errors, 0 warnings.\n")
    }

    @Test func violationsExitOneWithOneLineEachAndASummary() throws {
        let result = try runBasetap(["check", capturePath("typical-mistakes.jsonl")])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == #"c1 c2s[0] error id.syntax /from: "@Alice@chat.example.org" username: local part 'Alice' contains 'A' (only a-z 0-9 . _ = - / are allowed) (type auth.login, id 1)"#)
        #expect(result.stdout.contains("Checked 13 messages in 1 connection: 16 errors, 7 warnings."))
        #expect(!result.stdout.contains("\u{1B}["), "no color when not a terminal")
    }

    @Test func jsonlOutputIsViolationRecordsOnlyWithTheSummaryOnStandardError() throws {
        let result = try runBasetap(["check", "--format", "jsonl", capturePath("typical-mistakes.jsonl")])
        #expect(result.status == 1)
        let records = try result.stdout.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        #expect(records.count == 23)
        let first = try #require(records.first)
        guard case .object(let members) = first else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["conn", "dir", "index", "rule", "severity", "pointer", "message", "type", "id"])
        #expect(first["rule"] == .string("id.syntax"))
        #expect(first["index"] == .number("0"))
        #expect(result.stderr.contains("16 errors, 7 warnings"))
    }

    /// `--filter` (the one filter language): messages by their terms, violations by `rule:` and
    /// `severity:`; the summary counts what was reported; `decode --filter` keeps the same messages.
    @Test func theFilterSelectsViolationsInCheckAndMessagesInDecode() throws {
        let ids = try runBasetap(["check", "--format", "jsonl", "--filter", "rule:id.* dir:c2s", capturePath("typical-mistakes.jsonl")])
        let records = try ids.stdout.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        #expect(!records.isEmpty && records.allSatisfy { $0["rule"]?.stringValue?.hasPrefix("id.") == true && $0["dir"] == .string("c2s") })
        #expect(ids.stderr.contains("\(records.filter { $0["severity"] == .string("error") }.count) errors"), "\(ids.stderr)")
        let none = try runBasetap(["check", "--filter", "type:no.such.type", capturePath("typical-mistakes.jsonl")])
        #expect(none.status == 0 && none.stdout.contains("0 errors, 0 warnings"), "nothing reported, nothing counted")
        let bad = try runBasetap(["check", "--filter", "/n > ten", capturePath("typical-mistakes.jsonl")])
        #expect(bad.status == 2 && bad.stderr == "basetap: --filter '/n > ten': at column 6: '>' compares numbers, not 'ten'\n")

        let decoded = try runBasetap(["decode", "--filter", "severity:warning", capturePath("session.pcap")])
        let kept = decoded.stdout.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) }.filter { ["text", "binary"].contains($0["kind"]?.stringValue ?? "") }
        let warned = try runBasetap(["check", "--format", "jsonl", "--filter", "severity:warning", capturePath("session.pcap")])
        let warnedMessages = Set(warned.stdout.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) }.compactMap { $0["id"]?.stringValue })
        #expect(!kept.isEmpty && Set(kept.compactMap { Self.envelopeID($0) }) == warnedMessages, "the messages decode keeps are those check reports")
    }

    static func envelopeID(_ record: JSONValue) -> String? {
        guard let text = record["text"]?.stringValue ?? record["base64"]?.stringValue.flatMap({ Data(base64Encoded: $0) }).map({ String(decoding: $0, as: UTF8.self) }) else { return nil }
        return (try? JSONValue(parsing: text))?["id"]?.stringValue
    }

    /// A text record kept as base64 because it is not valid UTF-8 breaks the same rule as on the wire.
    @Test func aTextRecordThatIsNotUTF8IsWsInvalidUTF8AsOnTheWire() throws {
        let capture = #"{"conn":"c1","dir":"c2s","kind":"text","base64":"e/99"}"# + "\n"
        let result = try runBasetap(["check", "--format", "jsonl", "-"], input: capture)
        #expect(result.status == 1)
        let rules = try result.stdout.split(separator: "\n").map { try JSONValue(parsing: String($0))["rule"]?.stringValue ?? "" }
        #expect(rules == ["ws.invalid-utf8", "json.syntax"], "\(result.stdout)")
        #expect(result.stdout.contains(#""message":"text message is not valid UTF-8 (byte 1)""#))
    }

    @Test func readsStandardInput() throws {
        let capture = try String(contentsOfFile: capturePath("typical-mistakes.jsonl"), encoding: .utf8)
        let result = try runBasetap(["check", "--format", "jsonl", "--rules", "error.bare", "-"], input: capture)
        #expect(result.status == 1)
        #expect(result.stdout.split(separator: "\n").count == 1)
        #expect(result.stdout.contains(#""rule":"error.bare""#))
    }

    @Test func failOnWarningTurnsWarningsIntoExitOne() throws {
        let warningsOnly = ["--rules", "chain.unknown-id,envelope.unknown-member", capturePath("typical-mistakes.jsonl")]
        #expect(try runBasetap(["check"] + warningsOnly).status == 0)
        #expect(try runBasetap(["check", "--fail-on", "warning"] + warningsOnly).status == 1)
    }

    @Test func aMalformedLineIsAnInputErrorNamingTheLine() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = #"{"conn":"c","kind":"open"}"# + "\n" + #"{"conn":"c","dir":"c2s","kind":"text","text":"[]"}"# + "\n{broken\n"
            + #"{"conn":"c","dir":"c2s","kind":"text","text":"{}"}"# + "\n"
        let path = try writeFile(text, named: "bad.jsonl", in: directory)
        let strict = try runBasetap(["check", path])
        #expect(strict.status == 2)
        #expect(strict.stderr.hasPrefix("basetap: \(path):3: not JSON"))
        #expect(strict.stderr.split(separator: "\n").count == 1)
        #expect(strict.stdout == "c c2s[0] error envelope.not-object \"\": the message is a JSON array, not an object\n", "what was found before the bad line is printed")
        let lenient = try runBasetap(["check", "--skip-bad-lines", path])
        #expect(lenient.status == 1)
        #expect(lenient.stdout.contains("Checked 2 messages"))
        #expect(lenient.stdout.contains("1 malformed line skipped"))
        #expect(lenient.stderr.contains("skipped 1 malformed lines; first: \(path):3"))
    }

    @Test func usageErrorsExitTwo() throws {
        let unknownFlag = try runBasetap(["check", "--nope", capturePath("clean-session.jsonl")])
        #expect(unknownFlag.status == 2)
        #expect(unknownFlag.stderr.contains("Unknown option '--nope'"))
        let missing = try runBasetap(["check", "/nonexistent/capture.jsonl"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "basetap: /nonexistent/capture.jsonl: no such file\n")
        let badRule = try runBasetap(["check", "--rules", "id.nope", capturePath("clean-session.jsonl")])
        #expect(badRule.status == 2)
        #expect(badRule.stderr.contains("unknown rule 'id.nope'"))
        #expect(try runBasetap(["check"]).status == 2)
        #expect(try runBasetap(["check", "--fail-on", "fatal", capturePath("clean-session.jsonl")]).status == 2)
    }

    @Test func aPcapIsRecognisedByContentAndAnUnreadableOneIsAnInputError() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("capture.jsonl").path
        try Data([0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0]).write(to: URL(fileURLWithPath: path))
        let result = try runBasetap(["check", path])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("basetap: \(path): truncated dump file"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func helpTeachesAndExitsZero() throws {
        let result = try runBasetap(["check", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("--fail-on"))
        #expect(result.stdout.contains("Examples:"))
    }

    @Test func rulesAreFilteredByPrefix() throws {
        let result = try runBasetap(["check", "--format", "jsonl", "--rules", "chain", capturePath("typical-mistakes.jsonl")])
        let rules = Set(result.stdout.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0))["rule"]?.stringValue })
        #expect(rules == ["chain.type-mismatch", "chain.unknown-id", "chain.id-reuse"])
    }
}

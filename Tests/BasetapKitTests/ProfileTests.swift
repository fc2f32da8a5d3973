import Foundation
import Testing
@testable import BasetapKit

@Suite struct ProfileTests {
    static let chatProfile = """
        {"extensions": {
           "chat": {"errCodes": [[100, 199]], "messages": {
              "chat.send": {"payload": {"type": "object", "required": ["text"],
                 "properties": {"text": {"type": "string", "maxLength": 10}, "to": {"type": "string", "format": "user-id"}}}},
              "chat.edit:error": {"payload": {"type": "object", "required": ["errCode", "errText", "errPayload"]}}}},
           "room": {"errCodes": [[200, 299], 404], "messages": {"room.join": {}}}},
         "unknownTypes": "error"}
        """

    private func profile(_ text: String) throws -> Profile {
        try Profile(document: try JSONValue(parsing: text), source: "p.json")
    }

    private func findings(_ message: String, _ profile: Profile) -> [String] {
        var checker = MessageChecker(profile: profile)
        checker.check(Array(message.utf8))
        return checker.findings.map { "\($0.rule.id) \($0.severity.rawValue) \($0.pointer)" }
    }

    private func send(_ type: String, _ payload: String) -> String {
        #"{"id":"1","type":"\#(type)","from":"","to":"","payload":\#(payload)}"#
    }

    @Test func payloadsAreCheckedAgainstTheirTypesSchema() throws {
        let p = try profile(Self.chatProfile)
        #expect(findings(send("chat.send", #"{"text":"hi"}"#), p) == [])
        #expect(findings(send("chat.send", #"{"text":"far too long a text"}"#), p) == ["schema.violation error /payload/text"])
        #expect(findings(send("chat.send", #"{}"#), p) == ["schema.violation error /payload"])
        #expect(findings(send("chat.send", ##"{"text":"x","to":"#room:x"}"##), p) == ["schema.violation error /payload/to"])
        var checker = MessageChecker(profile: p)
        checker.check(Array(send("chat.send", #"{"text":"far too long a text"}"#).utf8))
        #expect(checker.findings.first?.message == "maxLength: 19 characters, at most 10 allowed")
    }

    @Test func unknownTypesFollowThePolicy() throws {
        #expect(findings(send("chat.nope", "{}"), try profile(Self.chatProfile)) == ["type.unknown error /type"])
        let warning = Self.chatProfile.replacingOccurrences(of: #""unknownTypes": "error""#, with: #""unknownTypes": "warning""#)
        #expect(findings(send("chat.nope", "{}"), try profile(warning)) == ["type.unknown warning /type"])
        let ignore = Self.chatProfile.replacingOccurrences(of: #""unknownTypes": "error""#, with: #""unknownTypes": "ignore""#)
        #expect(findings(send("chat.nope", "{}"), try profile(ignore)) == [])
        #expect(findings(send("nope:error", #"{"errCode":1,"errText":""}"#), try profile(Self.chatProfile)) == ["type.unknown error /type"])
    }

    /// The summary counts a rule under the severity it was reported with, not its default.
    @Test func theSummaryShowsTheSeverityTheProfileGave() throws {
        var options = CheckOptions()
        options.profile = try profile(Self.chatProfile)
        var checker = CaptureChecker(options: options) { _ in }
        try checker.consume(.text(send("chat.nope", "{}"), conn: "c1", dir: .c2s))
        #expect(checker.summary.errors == 1 && checker.summary.byRule == [.init(id: "type.unknown", severity: .error): 1])
        let text = ViolationFormatter(format: .text, style: Style(enabled: false)).summary(checker.summary)
        #expect(text.contains("  error   type.unknown  1"), "\(text)")
    }

    @Test func errorCodesOutsideTheExtensionsRangesAreForeign() throws {
        let p = try profile(Self.chatProfile)
        #expect(findings(send("chat.send:error", #"{"errCode":150,"errText":"x"}"#), p) == [])
        #expect(findings(send("chat.send:error", #"{"errCode":250,"errText":"x"}"#), p) == ["error.code-foreign warning /payload/errCode"])
        #expect(findings(send("room.join:error", #"{"errCode":404,"errText":"x"}"#), p) == [])
        var checker = MessageChecker(profile: p)
        checker.check(Array(send("chat.send:error", #"{"errCode":404,"errText":"x"}"#).utf8))
        #expect(checker.findings.first?.message.contains("belongs to extension \"room\"") == true)
    }

    @Test func anErrorTypeCanHaveItsOwnSchema() throws {
        let p = try profile(Self.chatProfile)
        #expect(findings(send("chat.edit:error", #"{"errCode":100,"errText":"x"}"#), p) == ["schema.violation error /payload"])
    }

    @Test(arguments: [
        (#"{"extensions": {"a": {"errCodes": [[1, 10]]}, "b": {"errCodes": [[5, 20]]}}}"#, "p.json at /extensions/b/errCodes", #"extensions "a" [1, 10] and "b" [5, 20] overlap"#),
        (#"{"extensions": {"a": {"messages": {"t": {"payload": {"type": "object", "maxLenght": 3}}}}}}"#, "p.json at /extensions/a/messages/t/payload/maxLenght", #"unknown keyword "maxLenght""#),
        (#"{"extensions": {"a": {"messages": {"t": {"payload": {"pattern": "(["}}}}}}"#, "p.json at /extensions/a/messages/t/payload/pattern", "not a valid regular expression"),
        (##"{"extensions": {"a": {"messages": {"t": {"payload": {"$ref": "#/$defs/missing"}}}}}}"##, "p.json at /extensions/a/messages/t/payload/$ref", "points at nothing"),
        (#"{"extension": {}}"#, "p.json at /extension", #"unknown member "extension""#),
        (#"{"unknownTypes": "loud"}"#, "p.json at /unknownTypes", "ignore"),
        (#"{"extensions": {"a": {"errCodes": [[9, 1]]}}}"#, "p.json at /extensions/a/errCodes", "empty"),
        (#"{"extensions": {"a": {"messages": {"t": {}}}, "b": {"messages": {"t": {}}}}}"#, "p.json at /extensions/b/messages/t", "already declared"),
    ])
    func invalidProfilesAreRejectedNamingTheSpot(text: String, place: String, words: String) {
        do {
            _ = try profile(text)
            Issue.record("accepted \(text)")
        } catch let error as BasetapError {
            guard case .input(let errorPlace, let message) = error else { Issue.record("\(error)"); return }
            #expect(errorPlace == place)
            #expect(message.contains(words), "\(message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func fileErrorsNameTheFileAndPosition() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: BasetapError.input(place: directory.path + "/none.json", message: "no such file")) {
            try Profile.load(path: directory.path + "/none.json")
        }
        let badJSON = try writeFile("{\n  \"extensions\": {,}\n}", named: "bad.json", in: directory)
        #expect(throws: BasetapError.input(place: badJSON + ":2:18", message: "not valid JSON: unexpected ',', expected a member name in double quotes")) {
            try Profile.load(path: badJSON)
        }
        let duplicate = try writeFile(#"{"unknownTypes": "error", "unknownTypes": "ignore"}"#, named: "dup.json", in: directory)
        #expect(throws: BasetapError.input(place: duplicate + ":1:27", message: "duplicate key at /unknownTypes")) {
            try Profile.load(path: duplicate)
        }
        let badYAML = try writeFile("extensions:\n  a: [1, 2\n", named: "bad.yaml", in: directory)
        do {
            _ = try Profile.load(path: badYAML)
            Issue.record("accepted broken YAML")
        } catch let error as BasetapError {
            #expect(error.description.hasPrefix(badYAML + ": not valid YAML or JSON"))
        }
    }

    @Test func yamlAndJSONProfilesBehaveAlike() throws {
        let yaml = try Profile.load(path: capturePath("protocol-core.profile.yaml"))
        #expect(yaml.extensions.map(\.name) == ["core", "auth", "room", "chat", "user", "sms"])
        #expect(yaml.extensions[1].errCodes == [100...199])
        let clean = try runBasetap(["check", "--profile", capturePath("protocol-core.profile.yaml"), capturePath("clean-session.jsonl")])
        #expect(clean.status == 0)
        #expect(clean.stdout.contains("0 errors, 0 warnings"))
    }

    @Test func anInferredProfileAcceptsItsSessionAndCatchesAMutatedOne() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let profilePath = directory.appendingPathComponent("inferred.json").path
        let infer = try runBasetap(["profile", "infer", capturePath("clean-session.jsonl"), "-o", profilePath])
        #expect(infer.status == 0)
        let profile = try Profile.load(path: profilePath)
        #expect(profile.extensionName(declaring: "chat.send") == "chat")
        #expect(profile.extensions.first { $0.name == "user" }?.errCodes == [404...404])

        let clean = try runBasetap(["check", "--profile", profilePath, "--fail-on", "warning", capturePath("clean-session.jsonl")])
        #expect(clean.status == 0, "\(clean.stdout)")

        // The same session with one payload member retyped, one dropped and one new type.
        var text = try String(contentsOfFile: capturePath("clean-session.jsonl"), encoding: .utf8)
        text = text.replacingOccurrences(of: #"\"members\":3"#, with: #"\"members\":\"3\""#)
        text = text.replacingOccurrences(of: ##"\"room\":\"#general:chat.example.org\""##, with: #"\"invitee\":\"x\""#)
        text = text.replacingOccurrences(of: #"\"type\":\"sms.send\",\"from\":\"@alice"#, with: #"\"type\":\"sms.blast\",\"from\":\"@alice"#)
        let mutated = try writeFile(text, named: "mutated.jsonl", in: directory)
        let result = try runBasetap(["check", "--format", "jsonl", "--profile", profilePath, mutated])
        #expect(result.status == 1)
        let found = result.stdout.split(separator: "\n").compactMap { line -> String? in
            guard let v = try? JSONValue(parsing: String(line)) else { return nil }
            return "\(v["rule"]!.stringValue!) \(v["pointer"]!.stringValue!)"
        }
        #expect(found == [
            "schema.violation /payload/members", "schema.violation /payload", "schema.violation /payload/invitee",
            "type.unknown /type",
        ])
    }

    @Test func profileCheckReportsValidityWithExitCodes() throws {
        let ok = try runBasetap(["profile", "check", capturePath("protocol-core.profile.yaml")])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("valid profile: 6 extensions, 6 message types"))
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bad = try writeFile(#"{"extensions": {"a": {"errCodes": [1, 1]}, "b": {"errCodes": [1]}}}"#, named: "bad.json", in: directory)
        let result = try runBasetap(["profile", "check", bad])
        #expect(result.status == 2)
        #expect(result.stderr == "basetap: \(bad) at /extensions/b/errCodes: errCodes of extensions \"a\" [1, 1] and \"b\" [1, 1] overlap\n")
        #expect(try runBasetap(["check", "--profile", bad, capturePath("clean-session.jsonl")]).status == 2)
    }
}

@Suite struct SchemaFormatTests {
    @Test(arguments: [
        ("entity-id", #""@a@x""#, true), ("entity-id", #""@A@x""#, false), ("user-id", #""%12:x""#, true),
        ("user-id", ##""#a:x""##, false), ("room-id", #""!r@x""#, true), ("room-alias", ##""#a:x""##, true),
        ("message-id", #""&0b7d5c2e-1a4f-4e8b-9c3d-5f6a7b8c9d0e:x""#, true), ("server", #""[::1]:80""#, true),
        ("server", #""@a@x""#, false), ("email", #""not checked""#, true),
    ])
    func entityFormatsAreAsserted(format: String, value: String, valid: Bool) throws {
        let validator = SchemaValidator(try SchemaCompiler.compile(try JSONValue(parsing: #"{"format":"\#(format)"}"#)))
        #expect(validator.failures(try JSONValue(parsing: value)).isEmpty == valid)
    }
}

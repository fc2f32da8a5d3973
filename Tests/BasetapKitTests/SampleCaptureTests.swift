import Testing
@testable import BasetapKit

/// The captures shipped in Captures/ are what the README and the demo show: pin their findings.
@Suite struct SampleCaptureTests {
    private func check(_ name: String) throws -> (CheckSummary, [String]) {
        var found: [String] = []
        var checker = CaptureChecker { v in found.append("\(v.dir!.rawValue)[\(v.index!)] \(v.rule.id) \(v.pointer)") }
        let reader = try JSONLCaptureReader(path: capturePath(name))
        try reader.forEach { try checker.consume($0) }
        checker.finish()
        return (checker.summary, found)
    }

    @Test func theCleanSessionIsClean() throws {
        let (summary, found) = try check("clean-session.jsonl")
        #expect(found == [])
        #expect(summary.messages == 10)
        #expect(summary.records == 16)
    }

    @Test func theSeedsOwnExamplesAreClean() throws {
        let (summary, found) = try check("seed-error-example.jsonl")
        #expect(found == [])
        #expect(summary.messages == 2)
    }

    @Test func typicalMistakesAreEachFoundWhereTheyAre() throws {
        let (summary, found) = try check("typical-mistakes.jsonl")
        #expect(found == [
            "c2s[0] id.syntax /from", "c2s[0] id.syntax /to",
            "s2c[0] envelope.unknown-member /ts", "s2c[0] envelope.type /ok",
            "c2s[1] json.duplicate-key /type", "c2s[1] envelope.missing /payload", "c2s[1] id.room-not-uuid /to",
            "s2c[1] error.type /payload/errCode", "s2c[1] chain.type-mismatch /type",
            "c2s[2] json.syntax ",
            "c2s[3] json.unsafe-integer /payload/seq", "c2s[3] envelope.type /to", "c2s[3] envelope.empty /id",
            "s2c[2] error.ok-true /ok", "s2c[2] chain.unknown-id /id",
            "s2c[3] error.bare /type",
            "c2s[5] id.syntax /to", "c2s[5] ok.false-without-error /ok", "c2s[5] chain.id-reuse /id",
            "c2s[6] envelope.not-object ",
            "c2s[7] id.syntax /from", "c2s[7] id.syntax /to",
            "s2c[4] frame.binary-json ",
        ])
        #expect(summary.errors == 16)
        #expect(summary.warnings == 7)
    }

    /// The wss sample carries its TLS 1.3 secrets in a Decryption Secrets Block: it decrypts with no
    /// key log given, to what the client of the plain sample sent.
    @Test func theWssSampleDecryptsWithTheSecretsItCarries() throws {
        let (wss, summary) = try PcapFixtures.decode(capturePath("wss-tls13.pcapng"))
        #expect(summary.tlsDecrypted == ["TLS 1.3, TLS_AES_256_GCM_SHA384": 1] && summary.tlsStreams == 0)
        #expect(summary.webSocketConnections == 1 && summary.messages == 12 && summary.controlFrames == 4)
        let (plain, _) = try PcapFixtures.decode(capturePath("session.pcap"))
        let sent = { (records: [CaptureRecord]) in records.filter { $0.dir == .c2s && $0.kind.isMessage }.map(\.payload) }
        #expect(sent(wss.records) == sent(plain.records))
    }
}

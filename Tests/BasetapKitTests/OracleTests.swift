import Testing
@testable import BasetapKit

@Suite struct OracleTests {
    private static let probe = ReplayConnection.probeID

    private static func outcome(_ records: [CaptureRecord] = [], _ change: (inout ReplayOutcome) -> Void = { _ in }) -> ReplayOutcome {
        var outcome = ReplayOutcome(conn: "c1")
        outcome.records = [CaptureRecord(ts: CaptureTime.now(), conn: "c1", kind: .open)] + records
        change(&outcome)
        return outcome
    }

    private static func close(_ code: Int, _ reason: String? = nil) -> CaptureRecord {
        var record = CaptureRecord(ts: CaptureTime.now(), conn: "c1", dir: .s2c, kind: .close)
        record.code = code
        record.reason = reason
        return record
    }

    private static func answer(_ text: String) -> CaptureRecord { .text(text, conn: "c1", dir: .s2c) }

    private static let goodAnswer = #"{"id":"basetap-probe","type":"t","from":"@a@x.org","to":"x.org","payload":{}}"#

    @Test func aCleanSessionIsNoFailure() {
        #expect(Oracle().judge(Self.outcome([Self.answer(Self.goodAnswer), Self.close(1000)])) == nil)
    }

    @Test func aFailedConnectionIsTheServerDown() {
        let failure = Oracle().judge(Self.outcome { $0.failure = "connection refused" })
        #expect(failure == Oracle.Failure(kind: .down, detail: "connection refused"))
        #expect(failure?.symptom == "down")
    }

    /// A broken upgrade request may be refused or dropped as the server likes: only a server that
    /// cannot be reached at all is a failure then.
    @Test func aHandshakeCaseFailsOnlyWhenTheServerIsUnreachable() {
        let refused = Self.outcome { $0.failure = "the server answered 400" }
        #expect(Oracle().judge(refused, handshake: true) == nil)
        let unreachable = Self.outcome { $0.failure = "connection refused"; $0.unreachable = true }
        #expect(Oracle().judge(unreachable, handshake: true)?.kind == .down)
        #expect(Oracle().judge(Self.outcome { $0.abnormalEnd = "reset" }, handshake: true) == nil)
    }

    @Test func internalErrorClosesAreGroupedByCode() {
        let failure = Oracle().judge(Self.outcome([Self.close(1011, "boom")]))
        #expect(failure == Oracle.Failure(kind: .close1011, detail: "the server closed with 1011 (boom)", symptom: "close 1011"))
        #expect(Oracle().judge(Self.outcome([Self.close(1006)]))?.symptom == "close 1006")
        #expect(Oracle().judge(Self.outcome([Self.close(1008)])) == nil, "a policy close is the server's right")
    }

    @Test func anUnansweredProbeWithoutACloseIsAHang() {
        #expect(Oracle().judge(Self.outcome { $0.unanswered = [Self.probe] })?.kind == .hang)
        #expect(Oracle().judge(Self.outcome { $0.timedOut = true })?.kind == .hang)
        #expect(Oracle().judge(Self.outcome([Self.close(1000)]) { $0.unanswered = [Self.probe] }) == nil,
                "a server that closed cleanly did not hang")
        #expect(Oracle().judge(Self.outcome { $0.unanswered = [Self.probe]; $0.abnormalEnd = "reset" })?.kind == .abort)
    }

    @Test func aDropWithoutACloseIsAnAbort() {
        let failure = Oracle().judge(Self.outcome { $0.abnormalEnd = "the server dropped the connection" })
        #expect(failure == Oracle.Failure(kind: .abort, detail: "the server dropped the connection"))
        #expect(Oracle().judge(Self.outcome([Self.close(1000)]) { $0.abnormalEnd = "reset after the close" }) == nil)
    }

    /// The symptom names every error rule the server's answers broke, sorted, so that two cases
    /// breaking the same rules in another order are one behaviour.
    @Test func violationsNameEveryBrokenRule() {
        let failure = Oracle().judge(Self.outcome([Self.answer("[1]"), Self.answer("{bad"), Self.close(1000)]))
        #expect(failure?.kind == .violation)
        #expect(failure?.symptom == "violation envelope.not-object,json.syntax")
        #expect(failure?.detail.hasPrefix("envelope.not-object at \"\": ") == true)
        #expect(failure?.detail.hasSuffix(" (and json.syntax)") == true, "\(failure?.detail ?? "")")
        let swapped = Oracle().judge(Self.outcome([Self.answer("{bad"), Self.answer("[1]"), Self.close(1000)]))
        #expect(swapped?.symptom == failure?.symptom)
        let clientOnly = Self.outcome([.text("[1]", conn: "c1", dir: .c2s), Self.close(1000)])
        #expect(Oracle().judge(clientOnly) == nil, "the fuzzer's own broken messages are not the server's")
    }

    @Test func aLateProbeAnswerIsSlow() {
        let oracle = Oracle(slowAfter: 100_000_000)
        let late = Self.outcome([Self.answer(Self.goodAnswer), Self.close(1000)]) { $0.latencies = [Self.probe: 250_000_000] }
        #expect(oracle.judge(late) == Oracle.Failure(kind: .slow, detail: "the probe was answered after 250 ms"))
        let inTime = Self.outcome([Self.answer(Self.goodAnswer), Self.close(1000)]) { $0.latencies = [Self.probe: 50_000_000] }
        #expect(oracle.judge(inTime) == nil)
    }

    @Test func deathsAreKnownByTheirSymptom() {
        #expect(Oracle.isDeath(Oracle.crashSymptom("SIGSEGV in parse")))
        #expect(Oracle.isDeath("down"))
        #expect(!Oracle.isDeath("close 1011"))
        #expect(Oracle.Kind.allCases.map(\.rank) == Array(0..<Oracle.Kind.allCases.count))
        #expect(Oracle.Kind.crash.rank < Oracle.Kind.violation.rank)
    }
}

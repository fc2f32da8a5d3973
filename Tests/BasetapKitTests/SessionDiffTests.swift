import Testing
@testable import BasetapKit

@Suite struct SessionDiffTests {
    private static func request(_ id: String, _ type: String = "t") -> CaptureRecord {
        .text(#"{"id":"\#(id)","type":"\#(type)","from":"","to":"","payload":{}}"#, conn: "c1", dir: .c2s)
    }

    private static func answer(_ text: String) -> CaptureRecord { .text(text, conn: "c1", dir: .s2c) }

    private static func close(_ code: Int) -> CaptureRecord {
        var record = CaptureRecord(ts: CaptureTime.now(), conn: "c1", dir: .s2c, kind: .close)
        record.code = code
        return record
    }

    private static func outcome(_ records: [CaptureRecord]) -> ReplayOutcome {
        var outcome = ReplayOutcome(conn: "c1")
        outcome.records = records
        return outcome
    }

    /// A request id answered twice is compared answer by answer, in order.
    @Test func answersArePairedByIdInOrder() {
        let recorded = [Self.request("1"), Self.answer(#"{"id":"1","type":"t","payload":{"n":1}}"#),
                        Self.answer(#"{"id":"1","type":"t","payload":{"n":2}}"#)]
        let sameOrder = Self.outcome([Self.request("1"), Self.answer(#"{"id":"1","type":"t","payload":{"n":1}}"#),
                                      Self.answer(#"{"id":"1","type":"t","payload":{"n":2.0}}"#)])
        #expect(SessionDiff().compare(recorded: recorded, replayed: sameOrder).isEmpty, "2 and 2.0 are one number")
        let swapped = Self.outcome([Self.request("1"), Self.answer(#"{"id":"1","type":"t","payload":{"n":2}}"#),
                                    Self.answer(#"{"id":"1","type":"t","payload":{"n":1}}"#)])
        let found = SessionDiff().compare(recorded: recorded, replayed: swapped)
        #expect(found.map(\.detail) == ["/payload/n: recorded 1, now 2", "/payload/n: recorded 2, now 1"])
        #expect(found.allSatisfy { $0.kind == .value && $0.id == "1" && $0.type == "t" })
    }

    @Test func typeAndOkChangesAreNamedAsSuch() {
        let recorded = [Self.request("1"), Self.answer(#"{"id":"1","type":"t","ok":true}"#)]
        let now = Self.outcome([Self.request("1"), Self.answer(#"{"id":"1","type":"t:error","ok":false}"#)])
        let found = SessionDiff().compare(recorded: recorded, replayed: now)
        #expect(found.map(\.kind) == [.type, .ok])
        #expect(found.map(\.pointer) == ["/type", "/ok"])
        #expect(found.first?.recorded == #""t""# && found.first?.now == #""t:error""#)
    }

    @Test func missingAndExtraAnswersSayWhy() {
        let recorded = [Self.request("1"), Self.request("2"), Self.answer(#"{"id":"1","type":"t","ok":true}"#),
                        Self.answer(#"{"id":"2","type":"u"}"#)]
        var now = Self.outcome([Self.request("1"), Self.request("2"), Self.request("3"), Self.answer(#"{"id":"3","type":"v"}"#)])
        now.unanswered = ["2"]
        let found = SessionDiff().compare(recorded: recorded, replayed: now)
        #expect(found.map(\.kind) == [.missingAnswer, .missingAnswer, .extraAnswer])
        #expect(found.map(\.detail) == ["no answer; recorded 't' with ok: true",
                                       "no answer within the timeout; recorded 'u'",
                                       "an answer the recording did not have: 'v'"])
    }

    /// Messages without a request's id are counted by type: the same counts in another order are no
    /// difference.
    @Test func unsolicitedMessagesAreCountedByType() {
        let recorded = [Self.answer(#"{"type":"tick"}"#), Self.answer(#"{"type":"news"}"#), Self.answer(#"{"type":"tick"}"#)]
        let reordered = Self.outcome([Self.answer(#"{"type":"news"}"#), Self.answer(#"{"type":"tick"}"#), Self.answer(#"{"type":"tick"}"#)])
        #expect(SessionDiff().compare(recorded: recorded, replayed: reordered).isEmpty)
        let fewer = Self.outcome([Self.answer(#"{"type":"tick"}"#), Self.answer("not json")])
        let found = SessionDiff().compare(recorded: recorded, replayed: fewer)
        #expect(found.map(\.detail) == ["the server sent 1 'tick' messages of its own; the recording has 2",
                                       "the server sent 0 'news' messages of its own; the recording has 1",
                                       "the server sent 1 '(not JSON)' messages of its own; the recording has 0"])
    }

    /// Only what the recording knows about the end is compared.
    @Test func endsAreComparedOnlyWhereTheRecordingKnowsThem() {
        typealias Ending = SessionDiff.Ending
        let dropped = Ending.dropped("reset"), otherDrop = Ending.dropped("EOF")
        #expect(SessionDiff.compareEnds(recorded: .unknown, now: .close(1011), conn: "c1") == nil)
        #expect(SessionDiff.compareEnds(recorded: dropped, now: otherDrop, conn: "c1") == nil)
        #expect(SessionDiff.compareEnds(recorded: dropped, now: .unknown, conn: "c1") == nil)
        #expect(SessionDiff.compareEnds(recorded: .close(1000), now: .close(1000), conn: "c1") == nil)
        let changed = SessionDiff.compareEnds(recorded: .close(1000), now: .close(1011), conn: "c1")
        #expect(changed?.detail == "the server closed with 1011; in the recording it closed with 1000")
        #expect(changed?.recorded == "1000" && changed?.now == "1011")
        let nowDropped = SessionDiff.compareEnds(recorded: .close(1000), now: dropped, conn: "c1")
        #expect(nowDropped?.detail == "the server ended without a Close (reset); in the recording it closed with 1000")
        #expect(nowDropped?.now == nil)

        let recorded = [Self.request("1"), Self.close(1000)]
        var now = Self.outcome([Self.request("1")])
        now.abnormalEnd = "connection reset by peer"
        #expect(SessionDiff().compare(recorded: recorded, replayed: now).map(\.kind) == [.close])
        #expect(SessionDiff().compare(recorded: recorded, replayed: Self.outcome([Self.request("1"), Self.close(1000)])).isEmpty)
    }

    @Test func aFailedReplayIsOneDifferenceAndNothingElse() {
        var now = ReplayOutcome(conn: "c1")
        now.failure = "connection refused"
        let found = SessionDiff().compare(recorded: [Self.request("1"), Self.answer(#"{"id":"1","type":"t"}"#)], replayed: now)
        #expect(found == [Difference(conn: "c1", kind: .failure, detail: "connection refused")])
    }

    @Test func volatileValuesAndIgnoredPointers() throws {
        let diff = SessionDiff(ignore: ["/payload/items/*/at"], ignoreVolatile: true)
        func outcome(_ answer: String) -> (recorded: [CaptureRecord], outcome: ReplayOutcome) {
            let request = CaptureRecord.text(#"{"id":"1","type":"t","from":"","to":"","payload":{}}"#, conn: "c1", dir: .c2s)
            var new = ReplayOutcome(conn: "c1")
            new.records = [request, .text(answer, conn: "c1", dir: .s2c)]
            return ([request], new)
        }
        let recordedAnswer = #"{"id":"1","type":"t","payload":{"uuid":"&4f1c2b7e-8d0e-4c36-9a55-3c2d1b7e0f11:x.org","at":"2026-11-25T10:00:00Z","ms":1795600000000,"items":[{"at":1}],"n":1}}"#
        let (request, _) = outcome(recordedAnswer)
        let recorded = request + [.text(recordedAnswer, conn: "c1", dir: .s2c)]
        let (_, same) = outcome(#"{"id":"1","type":"t","payload":{"uuid":"&00000000-1111-2222-3333-444444444444:x.org","at":"2026-11-25T11:22:33.5Z","ms":1795600999999,"items":[{"at":2}],"n":1}}"#)
        #expect(diff.compare(recorded: recorded, replayed: same).isEmpty)
        let (_, changed) = outcome(#"{"id":"1","type":"t","payload":{"uuid":"&00000000-1111-2222-3333-444444444444:y.org","at":"tomorrow","ms":17,"items":[{"at":2}],"n":1.0}}"#)
        #expect(diff.compare(recorded: recorded, replayed: changed).map(\.pointer) == ["/payload/uuid", "/payload/at", "/payload/ms"])
        #expect(SessionDiff().compare(recorded: recorded, replayed: same).count == 4, "without --ignore-volatile the same values differ")
    }
}

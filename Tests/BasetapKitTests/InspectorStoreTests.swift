import Testing
@testable import BasetapKit

/// The inspector's store keeps records compact and gives them back exactly, with their violations,
/// by seq and by position in any timeline.
@Suite struct InspectorStoreTests {
    private func message(_ text: String, _ conn: String, _ dir: Direction, frames: [CaptureRecord.Frame]? = nil) -> CaptureRecord {
        var record = CaptureRecord.text(text, conn: conn, dir: dir, ts: "2026-12-02T08:00:00.000001Z")
        record.frames = frames
        return record
    }

    private func violation(_ conn: String, _ dir: Direction, _ index: Int, _ rule: Rule = .envelopeMissing) -> Violation {
        Violation(conn: conn, dir: dir, index: index, rule: rule, pointer: "/id", message: "no id")
    }

    @Test func everyShapeOfRecordComesBackExactly() {
        let store = InspectorStore()
        var open = CaptureRecord(ts: "2026-12-02T08:00:00.000001Z", conn: "c1", kind: .open)
        open.url = "ws://127.0.0.1:1/ws"
        open.headers = [.init("Host", "127.0.0.1")]
        var close = CaptureRecord(ts: "2026-12-02T08:00:01.5+01:00", conn: "c1", dir: .s2c, kind: .close)
        close.code = 1000
        close.reason = "bye"
        var marked = message(#"{"type":"a"}"#, "c1", .c2s)
        marked.control = .injected
        let records = [
            open,
            message(#"{"id":"1","type":"a"}"#, "c1", .c2s, frames: [.init(fin: true, opcode: 1, rsv: 4, length: 9, masked: true)]),
            message(#"{"id":"1","type":"a"}"#, "c1", .s2c),
            message("two frames", "c1", .s2c, frames: [.init(fin: false, opcode: 1, rsv: 0, length: 3, masked: false), .init(fin: true, opcode: 0, rsv: 0, length: 7, masked: false)]),
            CaptureRecord(ts: "2026-12-02T08:00:00.000002Z", conn: "c1", dir: .c2s, kind: .binary, payload: [0, 255, 1]),
            marked,
            close,
            CaptureRecord(ts: "2026-12-02T08:00:02.000000Z", conn: "c1", kind: .end),
        ]
        for record in records { store.add(record) }
        for (n, record) in records.enumerated() {
            #expect(store.item(seq: n + 1)?.record == record)
        }
        #expect(store.open(conn: "c1") == open)
        #expect(store.allRecords(filter: nil) == records)
        #expect(store.answers(conn: "c1", id: "1").map(\.seq) == [3])
        #expect(store.connections.map(\.messages) == [PerDirection(c2s: 3, s2c: 2)])
    }

    @Test func violationsLandOnTheirMessageWhetherTheyComeBeforeOrAfterIt() {
        let store = InspectorStore()
        store.add(violation("c1", .c2s, 0, Rule.wsUnmaskedClientFrame))  // a wire finding, before its message
        store.add(message("{}", "c1", .c2s))
        store.add(violation("c1", .c2s, 0))
        store.add(message("{}", "c1", .s2c))
        store.add(message("{}", "c1", .c2s))
        store.add(violation("c1", .c2s, 1))
        #expect(store.item(seq: 1)?.violations.map(\.rule.id) == [Rule.wsUnmaskedClientFrame.id, Rule.envelopeMissing.id])
        #expect(store.item(seq: 2)?.violations.isEmpty == true)
        #expect(store.item(seq: 3)?.index == 1)
        #expect(store.item(seq: 3)?.violations.count == 1)
    }

    @Test func anyPositionOfAFilteredTimelineIsOneLookupAway() throws {
        let store = InspectorStore()
        for n in 0..<1000 {
            store.add(message(#"{"id":"\#(n)","type":"\#(n % 3 == 0 ? "chat.say" : "ping")"}"#, "c\(n % 2 + 1)", n % 2 == 0 ? .c2s : .s2c))
        }
        let chat = try MessageFilter("type:chat.*")
        let page = store.page(conn: nil, filter: chat, offset: 300, limit: 5, locating: 904)
        #expect(page.count == 334)
        #expect(page.items.map(\.seq) == [901, 904, 907, 910, 913])
        #expect(page.position == 301)
        #expect(store.page(conn: "c2", filter: chat, offset: 0, limit: 2).items.map(\.seq) == [4, 10])
        #expect(store.items(conn: nil, filter: chat, after: 901, limit: 2).map(\.seq) == [904, 907])
        // The timeline follows what comes after it was first asked for.
        store.add(message(#"{"type":"chat.x"}"#, "c1", .c2s))
        #expect(store.page(conn: nil, filter: chat, offset: 0, limit: 0).count == 335)
    }

    @Test func aViolationFoundLateStillChangesWhatARuleFilterShows() throws {
        let store = InspectorStore()
        store.add(message("{}", "c1", .c2s))
        store.add(message("{}", "c1", .c2s))
        let errors = try MessageFilter("severity:error")
        #expect(store.page(conn: nil, filter: errors, offset: 0, limit: 10).count == 0)
        store.add(violation("c1", .c2s, 0))
        #expect(store.page(conn: nil, filter: errors, offset: 0, limit: 10).items.map(\.seq) == [1])
    }

    @Test func aLiveStoreForgetsTheOldestAndKeepsTheRestWhole() {
        let store = InspectorStore(limit: 100)
        for n in 0..<1000 { store.add(message(#"{"id":"\#(n)"}"#, "c1", .c2s)) }
        store.add(violation("c1", .c2s, 999))
        let kept = store.page(conn: nil, filter: nil, offset: 0, limit: 1000).items
        #expect(kept.count <= 100 && kept.count >= 75)
        #expect(kept.last?.seq == 1000)
        #expect(kept.last?.record.text == #"{"id":"999"}"#)
        #expect(kept.last?.index == 999)
        #expect(kept.last?.violations.count == 1)
        #expect(store.item(seq: 1) == nil)
    }
}

import Testing
@testable import BasetapKit

@Suite struct ReplayPlanTests {
    static func ts(_ milliseconds: Int) -> String { "2026-11-24T10:00:0\(milliseconds / 1000).\(String(format: "%03d", milliseconds % 1000))000Z" }

    static func open(_ conn: String, headers: [CaptureRecord.Header] = []) -> CaptureRecord {
        var open = CaptureRecord(ts: ts(0), conn: conn, kind: .open)
        open.url = "/chat?v=1"
        open.headers = headers
        return open
    }

    static func record(_ conn: String, _ dir: Direction, _ kind: CaptureRecord.Kind, at ms: Int, _ text: String = "") -> CaptureRecord {
        CaptureRecord(ts: ts(ms), conn: conn, dir: dir, kind: kind, payload: Array(text.utf8))
    }

    static func close(_ conn: String, _ dir: Direction, at ms: Int, code: Int) -> CaptureRecord {
        var close = record(conn, dir, .close, at: ms)
        close.code = code
        close.reason = "bye"
        return close
    }

    static func actions(_ plan: ReplayConnection) -> [String] {
        plan.steps.map { step in
            switch step.action {
            case .message(let opcode, let payload): "msg\(opcode) \(String(decoding: payload, as: UTF8.self)) @\(step.at / 1_000_000)"
            case .ping: "ping @\(step.at / 1_000_000)"
            case .close(let code, _): "close \(code.map(String.init) ?? "-") @\(step.at / 1_000_000)"
            case .raw(let bytes): "raw \(bytes.count)"
            case .disconnect: "disconnect"
            }
        }
    }

    @Test func aPlanPerOpenedConnectionWithTheClientsStepsTimedFromItsFirst() throws {
        let records = [
            Self.open("c1"),
            Self.record("c1", .c2s, .text, at: 100, #"{"id":"a","type":"t"}"#),
            Self.record("c2", .c2s, .text, at: 110, "no open: not replayed"),
            Self.record("c1", .s2c, .text, at: 150, #"{"id":"a","type":"t"}"#),
            Self.record("c1", .s2c, .ping, at: 160),
            Self.record("c1", .c2s, .pong, at: 170),
            Self.record("c1", .c2s, .ping, at: 180, "p"),
            Self.record("c1", .c2s, .binary, at: 350, "b"),
            Self.close("c1", .c2s, at: 400, code: 1000),
            Self.open("c3"),
            Self.close("c3", .s2c, at: 500, code: 1001),
            Self.close("c3", .c2s, at: 510, code: 1001),
        ]
        let plans = ReplayConnection.plan(records)
        #expect(plans.map(\.conn) == ["c1", "c3"])
        #expect(Self.actions(plans[0]) == [#"msg1 {"id":"a","type":"t"} @0"#, "ping @80", "msg2 b @250", "close 1000 @300"],
                "pongs are the client's own to give; times start at the first step")
        #expect(plans[0].steps[0].id == "a")
        #expect(plans[0].expected == ["a"], "the ids the server answered")
        #expect(plans[0].url == "/chat?v=1")
        #expect(Self.actions(plans[1]).isEmpty, "a Close that answers the server's is made anew, not replayed")
        #expect(ReplayConnection.plan(records, only: ["c3"]).map(\.conn) == ["c3"])
    }

    @Test func connectionHeadersAreMadeAnewAndTheClientsAreKept() throws {
        let headers = [CaptureRecord.Header("Host", "old:1"), .init("Sec-WebSocket-Key", "x"), .init("Sec-WebSocket-Protocol", "basemessage.v1"),
                       .init("Cookie", "s=1"), .init("Connection", "Upgrade"), .init("Authorization", "Bearer a")]
        let plan = try #require(ReplayConnection.plan([Self.open("c1", headers: headers)]).first)
        #expect(plan.headers.map(\.name) == ["Sec-WebSocket-Protocol", "Cookie", "Authorization"])
        let head = plan.requestHead(target: ProxyTarget(host: "::1", port: 80), path: nil, extra: [.init("authorization", "Bearer b")], key: "k==")
        #expect(head == "GET /chat?v=1 HTTP/1.1\r\nHost: [::1]\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: k==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: basemessage.v1\r\nCookie: s=1\r\n"
                + "authorization: Bearer b\r\n\r\n", "a header given on the command line replaces the recorded one")
        let other = plan.requestHead(target: ProxyTarget(host: "h", port: 9), path: "/x", extra: [], key: "k")
        #expect(other.hasPrefix("GET /x HTTP/1.1\r\nHost: h:9\r\n"))
    }

    /// Unusual framing (fragments, RSV bits) is sent as recorded, each frame masked as it was.
    @Test func unusualFramesAreRebuiltAsRecorded() throws {
        var message = Self.record("c1", .c2s, .text, at: 1, "hello")
        message.frames = [FrameInfo(fin: false, opcode: 1, rsv: 0, length: 2, masked: true),
                          FrameInfo(fin: true, opcode: 0, rsv: 2, length: 3, masked: false)]
        let plan = try #require(ReplayConnection.plan([Self.open("c1"), message]).first)
        guard case .raw(let bytes) = plan.steps.first?.action else { Issue.record("\(Self.actions(plan))"); return }
        var parser = FrameParser()
        parser.append(bytes)
        let first = try #require(try parser.next()), second = try #require(try parser.next())
        #expect(!first.fin && first.opcode == 1 && first.masked && first.payload == Array("he".utf8))
        #expect(second.fin && second.opcode == 0 && second.rsv == 2 && !second.masked && second.payload == Array("llo".utf8))
        #expect(plan.steps.first?.id == nil)

        var plain = message
        plain.frames = [FrameInfo(fin: true, opcode: 1, rsv: 0, length: 5, masked: true)]
        #expect(ReplayConnection.framed(plain) == nil, "one ordinary frame is a message")
        var compressed = message
        compressed.frames = [FrameInfo(fin: true, opcode: 1, rsv: 4, length: 3, masked: true)]
        #expect(ReplayConnection.framed(compressed) == nil, "frame lengths of a compressed message do not add up to its text")
    }

    /// A fuzz finding's capture: raw bytes, mutations, a client drop and the probe come back as they were.
    @Test func aFindingsCaptureReplaysAsTheFuzzerSentIt() throws {
        var raw = Self.record("c1", .c2s, .binary, at: 5)
        raw.payload = [0x81, 0x00]
        raw.raw = true
        var mutated = Self.record("c1", .c2s, .text, at: 6, #"{"id":"basetap-probe","type":"t"}"#)
        mutated.mutation = CaptureRecord.Mutation(seed: 3, ops: ["value.flip"])
        var end = CaptureRecord(ts: Self.ts(9), conn: "c1", kind: .end)
        end.error = WebSocketTap.dropped(by: .c2s)
        var open = Self.open("c1")
        open.request = "GET / HTTP/1.1\r\n\r\n"
        open.finding = CaptureRecord.FindingMark(oracle: "hang", symptom: "hang", detail: "no answer")
        let plan = try #require(ReplayConnection.plan([open, raw, mutated, end]).first)
        #expect(Self.actions(plan) == ["raw 2", #"msg1 {"id":"basetap-probe","type":"t"} @1"#, "disconnect"])
        #expect(plan.steps[1].mutation == mutated.mutation)
        #expect(plan.expected.contains(ReplayConnection.probeID), "the probe is waited for even unanswered")
        #expect(plan.rawHead == Array("GET / HTTP/1.1\r\n\r\n".utf8))
        #expect(plan.finding == open.finding)

        // What the plan sends, written as records, plans the same steps again.
        let again = try #require(ReplayConnection.plan(plan.clientRecords()).first)
        #expect(Self.actions(again) == ["raw 2", #"msg1 {"id":"basetap-probe","type":"t"} @0"#, "disconnect"], "written at one time")
        #expect(again.steps[1].mutation == mutated.mutation)
        #expect(again.rawHead == plan.rawHead)
    }
}

import Testing
@testable import BasetapKit

/// The hub every byte source goes through: heads, then frames both ways, to records and findings.
@Suite struct WebSocketTapTests {
    final class Sink: TapSink {
        var records: [CaptureRecord] = []
        var rules: [String] = []
        func record(_ record: CaptureRecord) throws { records.append(record) }
        func violation(conn: String, dir: Direction, rule: Rule, message: String, offset: Int) throws { rules.append(rule.id) }
    }

    static let endpoint = Endpoint(address: [127, 0, 0, 1], port: 9)
    static func decoder() -> WebSocketTap {
        WebSocketTap(conn: "c1", client: endpoint, server: endpoint, limits: InflateLimits(), maxFrameSize: 1 << 20)
    }
    static let request = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(HandshakeAcceptTests.key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
    static let text = FrameEncoder.encode(WebSocketFrame(opcode: .text, maskKey: (1, 2, 3, 4), payload: Array(#"{"id":"1"}"#.utf8)))

    @Test func anUpgradeAndItsFramesBecomeRecords() throws {
        let decoder = Self.decoder(), sink = Sink()
        try decoder.data(.c2s, Array(Self.request.utf8) + Self.text, timestamp: 0, sink: sink)
        #expect(sink.records.isEmpty, "frames sent before the answer wait for it")
        let answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(HandshakeAccept.value(for: HandshakeAcceptTests.key))\r\n\r\n"
        try decoder.data(.s2c, Array(answer.utf8), timestamp: 1, sink: sink)
        #expect(sink.records.map(\.kind) == [.open, .text])
        #expect(sink.records.first?.url == "/chat" && sink.records.last?.text == #"{"id":"1"}"#)
        #expect(sink.rules.isEmpty)
    }

    @Test func aWrongAcceptIsAViolationAndTheSessionIsStillFollowed() throws {
        let decoder = Self.decoder(), sink = Sink()
        try decoder.data(.c2s, Array(Self.request.utf8), timestamp: 0, sink: sink)
        try decoder.data(.s2c, Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: wrong\r\n\r\n".utf8), timestamp: 1, sink: sink)
        try decoder.data(.c2s, Self.text, timestamp: 2, sink: sink)
        #expect(sink.rules == ["ws.handshake-accept"])
        #expect(sink.records.map(\.kind) == [.open, .text])
    }

    /// `mutate` writes variants that were never sent: no 101 exists, and none is made up.
    @Test func aDecoderStartsInTheWebSocketPhaseWhenTold() throws {
        let decoder = Self.decoder(), sink = Sink()
        var reader = HTTPHeadReader()
        guard case .head(let head, _) = reader.feed(Array(Self.request.utf8)) else { Issue.record("no head"); return }
        try decoder.startWebSocket(request: head, subprotocol: "basemessage.v1", extensions: nil, timestamp: 0, sink: sink)
        try decoder.data(.c2s, Self.text, timestamp: 1, sink: sink)
        #expect(sink.records.map(\.kind) == [.open, .text])
        #expect(sink.records.first?.subprotocol == "basemessage.v1" && sink.records.first?.url == "/chat")
        #expect(sink.rules.isEmpty)
    }

    @Test func aConnectionThatEndsWithoutACloseWasDroppedByWhoEndedIt() throws {
        let decoder = Self.decoder(), sink = Sink()
        var reader = HTTPHeadReader()
        guard case .head(let head, _) = reader.feed(Array(Self.request.utf8)) else { Issue.record("no head"); return }
        try decoder.startWebSocket(request: head, subprotocol: nil, extensions: nil, timestamp: 0, sink: sink)
        try decoder.data(.s2c, Array(FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: Array("{}".utf8))).prefix(3)), timestamp: 1, sink: sink)
        try decoder.end(error: nil, droppedBy: .s2c, timestamp: 2, sink: sink)
        #expect(sink.rules == ["ws.no-closing-handshake"])
        let end = try #require(sink.records.last)
        #expect(end.kind == .end && end.error == "the server dropped the connection without a closing handshake; the connection ended in the middle of a server frame (3 bytes of it received)")
    }
}

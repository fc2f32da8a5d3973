import Foundation
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

    static let accept = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(HandshakeAccept.value(for: HandshakeAcceptTests.key))\r\n\r\n"

    /// A pooled connection: ordinary requests (a body by length, a chunked answer, a 100 Continue,
    /// a refused upgrade) come before the upgrade that is answered, fed one byte at a time.
    @Test(arguments: [1, 5, 100_000])
    func ordinaryRequestsOnAKeepAliveConnectionAreFollowedToTheUpgrade(step: Int) throws {
        let decoder = Self.decoder(), sink = Sink()
        let client = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /login HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n{\"u\":\"ann\"}"
            + Self.request.replacingOccurrences(of: "/chat", with: "/refused")
            + "PUT /blob HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
            + Self.request
        let server = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            + "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nyes\r\n0\r\n\r\n"
            + "HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope"
            + "HTTP/1.1 204 No Content\r\n\r\n"
            + Self.accept
        for (dir, text) in [(Direction.c2s, client), (.s2c, server)] {
            let bytes = Array(text.utf8)
            for at in stride(from: 0, to: bytes.count, by: step) {
                try decoder.data(dir, bytes[at..<min(at + step, bytes.count)], timestamp: 0, sink: sink)
            }
        }
        try decoder.data(.c2s, Self.text, timestamp: 1, sink: sink)
        #expect(sink.records.map(\.kind) == [.open, .text])
        #expect(sink.records.first?.url == "/chat")
        #expect(decoder.summary.httpRequests == 3 && decoder.summary.otherStreams == 0)
        #expect(sink.rules.isEmpty)
    }

    /// Once an answer's body runs to the end of the connection, or says `Connection: close`,
    /// nothing after it can be an upgrade: the stream is counted as not WebSocket.
    @Test func aBodyUntilCloseEndsTheFollowing() throws {
        for answer in ["HTTP/1.1 200 OK\r\n\r\nbody to the end", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"] {
            let decoder = Self.decoder(), sink = Sink()
            try decoder.data(.c2s, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), timestamp: 0, sink: sink)
            try decoder.data(.s2c, Array(answer.utf8), timestamp: 0, sink: sink)
            #expect(decoder.phase == .ignored && decoder.summary.otherStreams == 1)
        }
        let decoder = Self.decoder(), sink = Sink()
        try decoder.data(.c2s, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), timestamp: 0, sink: sink)
        try decoder.data(.s2c, Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8), timestamp: 0, sink: sink)
        try decoder.end(error: nil, timestamp: 1, sink: sink)
        #expect(decoder.summary.otherStreams == 1 && sink.records.isEmpty, "plain HTTP to the end is one non-WebSocket stream")
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

import NIOCore
import NIOEmbedded
import Testing
@testable import BasetapKit

/// `/metrics` in a test channel: a head read with the one head reader, then the text of the moment
/// (made off the event loop, hence a channel whose loop other threads may use).
@Suite(.timeLimit(.minutes(1))) struct MetricsHandlerTests {
    @Test func aRequestInPiecesIsAnsweredOnceItsHeadIsWholeThenTheConnectionCloses() async throws {
        let channel = try await NIOAsyncTestingChannel { try $0.pipeline.syncOperations.addHandler(MetricsHandler { "basetap_connections_open 3\n" }) }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1))
        try await channel.writeInbound(ByteBuffer(string: "GET /metrics HTTP/1.1\r\nHo"))
        #expect(try await channel.readOutbound(as: ByteBuffer.self) == nil, "nothing before the head is whole")
        try await channel.writeInbound(ByteBuffer(string: "st: x\r\n\r\n"))
        let text = String(buffer: try await channel.waitForOutboundWrite(as: ByteBuffer.self))
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n") && text.contains("Content-Length: 27\r\n") && text.hasSuffix("\r\n\r\nbasetap_connections_open 3\n"), "\(text)")
        try await channel.closeFuture.get()
    }

    @Test func bytesThatAreNoHeadStillGetTheAnswer() async throws {
        let channel = try await NIOAsyncTestingChannel { try $0.pipeline.syncOperations.addHandler(MetricsHandler { "x 1\n" }) }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1))
        try await channel.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0x20]))
        #expect(String(buffer: try await channel.waitForOutboundWrite(as: ByteBuffer.self)).hasSuffix("x 1\n"))
    }
}

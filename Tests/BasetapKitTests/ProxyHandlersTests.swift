import NIOCore
import NIOEmbedded
import NIOPosix
import Testing
@testable import BasetapKit

/// The proxy's small handlers on their own, in an `EmbeddedChannel`.
@Suite struct ProxyHandlersTests {
    @Test func anIdleConnectionIsClosedAndSaysSoOnce() throws {
        final class Count: @unchecked Sendable { var value = 0 }
        let expired = Count()
        let channel = EmbeddedChannel(handler: IdleCloser { expired.value += 1 })
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(channel.isActive && expired.value == 0, "only silence both ways counts")
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        #expect(!channel.isActive && expired.value == 1)
    }

    @Test func theUpgradeHeadGoesUpstreamWithItsHostAndBehindTheUpstreamsPath() throws {
        var route = try ProxyTarget(url: "ws://10.0.0.5:9000/api?v=2")
        let head = Array("GET /chat?room=1 HTTP/1.1\r\nHost: localhost:8080\r\nUpgrade: websocket\r\n\r\n".utf8)
        let rewritten = String(decoding: UpgradeHandler.rewriting(head, for: route), as: UTF8.self)
        #expect(rewritten == "GET /api/chat?v=2&room=1 HTTP/1.1\r\nHost: 10.0.0.5:9000\r\nUpgrade: websocket\r\n\r\n")
        route.path = ""
        #expect(String(decoding: UpgradeHandler.rewriting(head, for: route), as: UTF8.self).hasPrefix("GET /chat?room=1 HTTP/1.1\r\nHost: 10.0.0.5:9000\r\n"))
    }
}

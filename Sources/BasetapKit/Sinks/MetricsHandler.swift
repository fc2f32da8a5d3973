import Foundation
import NIOCore

/// Answers any HTTP request with the Prometheus text of the moment, then closes.
final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let body: @Sendable () -> String
    private var request = HTTPHeadReader(maxHeadSize: 8192)

    init(body: @escaping @Sendable () -> String) {
        self.body = body
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Whatever was asked (or sent instead of a head), the answer is the same.
        guard request.feed(unwrapInboundIn(data).readableBytesView) != .needMore else { return }
        request = HTTPHeadReader(maxHeadSize: 8192)
        // The numbers come from the inspector's queue: gather them off the event loop, which also relays traffic.
        let loop = context.eventLoop
        let bound = NIOLoopBound(context, eventLoop: loop)
        let body = self.body
        DispatchQueue.global().async {
            let text = body()
            loop.execute {
                let context = bound.value
                let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n" + text
                context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: response))).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            }
        }
    }
}

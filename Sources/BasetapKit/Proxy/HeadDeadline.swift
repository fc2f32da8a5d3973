import NIOCore

/// Closes a connection whose request head has not arrived in time (408): a client that sends its
/// headers a byte at a time (slowloris) cannot hold a connection and its memory for ever.
/// Removed as soon as the head is complete.
final class HeadDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let seconds: Int
    private let proxy: ProxyServer
    private let conn: Int
    private var timer: Scheduled<Void>?

    init(seconds: Int, conn: Int, proxy: ProxyServer) {
        self.seconds = seconds
        self.conn = conn
        self.proxy = proxy
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let (seconds, proxy, conn) = (self.seconds, self.proxy, self.conn)
        timer = context.eventLoop.scheduleTask(in: .seconds(Int64(seconds))) {
            proxy.refuse(channel, conn: conn, 408, "no complete request head within \(seconds) s (--header-timeout)")
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }
}

import NIOCore
import NIOSSL

/// One side of a proxied connection in its channel's pipeline: it hands every event to the
/// connection's `ProxyConnection` and acts for it on this channel (writes, reads, closes). Reads are
/// held back while the other side cannot write or the sink writer is far behind, so backpressure
/// stays per connection and nothing is lost.
final class RelayHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = NIOAny

    /// The direction this side reads: c2s on the client's channel, s2c on the upstream's.
    let dir: Direction
    private let connection: ProxyConnection
    private(set) var context: ChannelHandlerContext?
    private var pendingRead = false

    init(dir: Direction, connection: ProxyConnection) {
        self.dir = dir
        self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if connection.read(dir, unwrapInboundIn(data)) { context.fireChannelRead(data) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection.readComplete(dir)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.inactive(dir)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event { connection.inputEnded(dir) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Many servers and clients close TCP after the WebSocket closing handshake without a TLS
        // close_notify; that is an ordinary end, not a failure worth an `end` error.
        if let tlsError = error as? NIOSSLError, case .uncleanShutdown = tlsError {
            context.close(promise: nil)
            return
        }
        connection.failed(dir, "\(dir.sender) connection failed: \(ConnectionErrorText.describe(error, dir: dir))")
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { connection.becameWritable(dir.opposite) }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        guard connection.mayRead(dir) else {
            pendingRead = true
            return
        }
        context.read()
    }

    /// The other side can take more, or the writer caught up: a held-back read goes ahead.
    func resumeReading() {
        guard pendingRead, let context else { return }
        pendingRead = false
        read(context: context)
    }

    func write(_ buffer: ByteBuffer) {
        context?.write(NIOAny(buffer), promise: nil)
    }

    func flush() { context?.flush() }

    var isWritable: Bool { context?.channel.isWritable ?? false }
}

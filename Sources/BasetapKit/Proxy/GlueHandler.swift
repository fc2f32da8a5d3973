import NIOCore

/// Joins two channels so that what one reads the other writes, unchanged, with backpressure:
/// a side stops reading while its partner cannot write (the pattern of swift-nio's connect-proxy
/// example). Both channels must live on the same event loop.
final class GlueHandler {
    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    private init() {}

    static func matchedPair() -> (GlueHandler, GlueHandler) {
        let first = GlueHandler()
        let second = GlueHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    private func partnerWrite(_ data: NIOAny) { context?.write(data, promise: nil) }
    private func partnerFlush() { context?.flush() }
    private func partnerWriteEOF() { context?.close(mode: .output, promise: nil) }
    private func partnerCloseFull() { context?.close(promise: nil) }
    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }
}

extension GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { partner?.partnerWrite(data) }
    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush() }
    func channelInactive(context: ChannelHandlerContext) { partner?.partnerCloseFull() }
    func errorCaught(context: ChannelHandlerContext, error: Error) { partner?.partnerCloseFull() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event { partner?.partnerWriteEOF() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if let partner, partner.partnerWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }
}

/// Copies every byte a channel reads to the inspector, then passes it on untouched: inspection
/// happens beside the relay, on the inspector's own queue, never in front of it. Only when the
/// inspector falls far behind (its backlog past the high-water mark) does the tap hold back the
/// channel's next read, so that memory stays bounded and the recording stays lossless.
final class TapHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = NIOAny

    private let conn: Int
    private let dir: Direction
    private let inspector: Inspector

    init(conn: Int, dir: Direction, inspector: Inspector) {
        self.conn = conn
        self.dir = dir
        self.inspector = inspector
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        inspector.bytes(conn, dir, Array(buffer.readableBytesView))
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        // The usual case costs one locked read; the resume closure is built only when holding back.
        if inspector.isBacklogged {
            let loop = context.eventLoop
            let resume = NIOLoopBound(context, eventLoop: loop)
            if inspector.whenBelowLowWater({ loop.execute { resume.value.read() } }) { return }
        }
        context.read()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        inspector.failure(conn, "\(dir == .c2s ? "client" : "server") connection failed: \(error)")
        context.fireErrorCaught(error)
    }
}

import NIOCore
import NIOSSL

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

    func channelInactive(context: ChannelHandlerContext) {
        inspector.inputEnded(conn, dir)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event { inspector.inputEnded(conn, dir) }
        context.fireUserInboundEventTriggered(event)
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
        // Many servers and clients close TCP after the WebSocket closing handshake without a TLS
        // close_notify; that is an ordinary end, not a failure worth an `end` error.
        if let tlsError = error as? NIOSSLError, case .uncleanShutdown = tlsError {
            context.close(promise: nil)
            return
        }
        inspector.failure(conn, "\(dir == .c2s ? "client" : "server") connection failed: \(Self.describe(error, dir: dir))")
        context.fireErrorCaught(error)
    }

    static func describe(_ error: Error, dir: Direction) -> String {
        guard let tlsError = error as? NIOSSLError, case .handshakeFailed(let reason) = tlsError else { return ProxyServer.describe(error) }
        let hint = dir == .c2s ? " (a client that does not trust basetap's CA rejects its certificates: see 'basetap ca show')" : ""
        // BoringSSL's text carries error numbers and source paths; its reason names are what a user can act on.
        let names = "\(reason)".components(separatedBy: "OPENSSL_internal:").dropFirst().map { $0.prefix { $0.isUppercase || $0 == "_" } }
        return "TLS handshake failed: \(names.isEmpty ? "\(reason)" : names.joined(separator: ", "))\(hint)"
    }
}

import NIOCore
import NIOPosix

/// Closes a connection that saw no traffic for `--idle-timeout`, noting why for its `end` record.
final class IdleCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let conn: Int
    private let seconds: Int
    private let inspector: Inspector

    init(conn: Int, seconds: Int, inspector: Inspector) {
        self.conn = conn
        self.seconds = seconds
        self.inspector = inspector
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .all {
            inspector.failure(conn, "closed after \(seconds) s without traffic (--idle-timeout)", byBasetap: true)
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

import NIOCore
import NIOPosix

/// Closes a connection that saw no traffic for `--idle-timeout`: the connection says why in its `end` record.
final class IdleCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let expired: () -> Void

    init(expired: @escaping () -> Void) {
        self.expired = expired
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .all {
            expired()
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

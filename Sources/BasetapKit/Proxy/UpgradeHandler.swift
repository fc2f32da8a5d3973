import NIOCore

/// Reads the client's first request head, rewrites its Host header (and its target, when the
/// upstream has a path) for the upstream in reverse mode, and then hands the channel to the relay. It is the only place basetap changes a byte.
final class UpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let conn: Int
    private let route: ProxyTarget
    private let rewriteHost: Bool
    private let proxy: ProxyServer
    private let connection: ProxyConnection
    private var buffer: ByteBuffer?

    init(conn: Int, route: ProxyTarget, rewriteHost: Bool, proxy: ProxyServer, connection: ProxyConnection) {
        self.conn = conn
        self.route = route
        self.rewriteHost = rewriteHost
        self.proxy = proxy
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
        let view = buffer!.readableBytesView
        guard let end = view.firstRange(of: [0x0D, 0x0A, 0x0D, 0x0A]) else {
            if view.count > proxy.options.maxHeaderSize {
                buffer = nil
                proxy.refuseLongHead(context.channel, conn: conn)
            }
            return
        }
        let headLength = end.upperBound - view.startIndex
        let head = Array(view.prefix(headLength))
        var first = context.channel.allocator.buffer(capacity: buffer!.readableBytes + 64)
        first.writeBytes(rewriteHost ? Self.rewriting(head, for: route) : head)
        first.writeBytes(view.dropFirst(headLength))
        buffer = nil
        context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
        connection.headComplete(route: route, firstBytes: first)
    }

    /// The head as the upstream gets it: its Host, and its request target behind the upstream's path.
    static func rewriting(_ head: [UInt8], for route: ProxyTarget) -> [UInt8] {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        if let i = lines.firstIndex(where: { $0.lowercased().hasPrefix("host:") }) {
            lines[i] = "Host: \(route.hostHeader)"
        }
        var requestLine = lines[0].split(separator: " ", omittingEmptySubsequences: false)
        if !route.path.isEmpty, requestLine.count == 3 {
            requestLine[1] = Substring(route.joined(with: String(requestLine[1])))
            lines[0] = requestLine.joined(separator: " ")
        }
        return Array(lines.joined(separator: "\r\n").utf8)
    }
}

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
    private var reader: HTTPHeadReader
    /// What arrived so far, as it came: the head is rewritten in place, not rebuilt from its parse.
    private var buffer: ByteBuffer?

    init(conn: Int, route: ProxyTarget, rewriteHost: Bool, proxy: ProxyServer, connection: ProxyConnection) {
        self.conn = conn
        self.route = route
        self.rewriteHost = rewriteHost
        self.proxy = proxy
        self.connection = connection
        reader = HTTPHeadReader(maxHeadSize: proxy.options.maxHeaderSize)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        let result = reader.feed(incoming.readableBytesView)
        if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
        switch result {
        case .needMore:
            return
        case .tooLong:
            buffer = nil
            proxy.refuseLongHead(context.channel, conn: conn)
        case .notHTTP:
            // TLS to this plain listener, or another protocol: relayed as it is, and the tap says what it was.
            relay(context, buffer!)
        case .head(_, let rest):
            let view = buffer!.readableBytesView
            let head = Array(view.dropLast(rest.count))
            var first = context.channel.allocator.buffer(capacity: view.count + 64)
            first.writeBytes(rewriteHost ? Self.rewriting(head, for: route) : head)
            first.writeBytes(rest)
            relay(context, first)
        }
    }

    private func relay(_ context: ChannelHandlerContext, _ first: ByteBuffer) {
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

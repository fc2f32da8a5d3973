import NIOCore
import NIOSSL

/// The first request on a forward-mode connection. `CONNECT host:port` opens a tunnel: when the
/// client then starts TLS, basetap answers it with a leaf from its CA and speaks TLS to the real
/// server too; otherwise the tunnel carries plain ws. An absolute-form request (`GET ws://host/path`)
/// is rewritten to origin form and goes to that host. Then the channel becomes an ordinary relay.
final class ForwardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private enum State {
        case head
        /// 200 sent; the tunnel's first byte tells TLS (0x16, a handshake record) from plain ws.
        case tunnel(ProxyTarget)
    }

    private let connection: ProxyConnection
    private let proxy: ProxyServer
    private let issuer: LeafIssuer
    private var state = State.head
    private var reader: HTTPHeadReader
    private var buffer: ByteBuffer?
    private var conn: Int { connection.conn }

    init(connection: ProxyConnection, proxy: ProxyServer, issuer: LeafIssuer) {
        self.connection = connection
        self.proxy = proxy
        self.issuer = issuer
        reader = HTTPHeadReader(maxHeadSize: proxy.options.maxHeaderSize)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        switch state {
        case .head:
            let result = reader.feed(incoming.readableBytesView)
            if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
            readHead(context: context, result)
        case .tunnel(let target):
            if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
            startTunnel(context: context, target: target)
        }
    }

    private func readHead(context: ChannelHandlerContext, _ result: HTTPHeadReader.Result) {
        let parsed: HTTPHead, rest: [UInt8]
        switch result {
        case .needMore:
            return
        case .tooLong:
            buffer = nil
            return proxy.refuseLongHead(context.channel, conn: conn)
        case .notHTTP(let why):
            return refuse(context, 400, "not an HTTP request: \(why)")
        case .head(let head, let after):
            (parsed, rest) = (head, after)
        }
        let raw = buffer!.readableBytesView.dropLast(rest.count)
        let firstLineEnd = raw.firstRange(of: [0x0D, 0x0A])!.lowerBound
        let requestLine = parsed.startLine
        guard requestLine.count == 3 else { return refuse(context, 400, "malformed request line") }
        let method = requestLine[0]
        let target = requestLine[1]
        do {
            if method == "CONNECT" {
                let destination = try ProxyTarget(hostPort: target, defaultPort: nil, flag: "CONNECT")
                guard proxy.allows(destination.host) else { return refuse(context, 403, "\(destination.host) is not in --allow-hosts") }
                buffer = rest.isEmpty ? nil : context.channel.allocator.buffer(bytes: rest)
                state = .tunnel(destination)
                context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: "HTTP/1.1 200 Connection Established\r\n\r\n")), promise: nil)
                if buffer != nil { startTunnel(context: context, target: destination) }
                return
            }
            guard target.contains("://") else {
                return refuse(context, 400, "basetap is a forward proxy here: send an absolute URL (GET ws://host/path) or CONNECT host:port")
            }
            var destination = try ProxyTarget(url: target, flag: "request target")
            guard proxy.allows(destination.host) else { return refuse(context, 403, "\(destination.host) is not in --allow-hosts") }
            let originForm = "\(method) \(destination.requestTarget) \(requestLine[2])"
            destination.path = ""  // now in the request line
            var rewritten = context.channel.allocator.buffer(capacity: raw.count + rest.count)
            rewritten.writeString(originForm)
            rewritten.writeBytes(raw[firstLineEnd...])
            rewritten.writeBytes(rest)
            hand(context: context, to: destination, bytes: rewritten)
        } catch {
            refuse(context, 400, "\(error)")
        }
    }

    private func startTunnel(context: ChannelHandlerContext, target: ProxyTarget) {
        var route = target
        route.tls = buffer!.readableBytesView.first == 0x16
        if route.tls {
            do {
                let tls = NIOSSLServerHandler(context: try issuer.context(for: target.host))
                try context.pipeline.syncOperations.addHandler(tls, position: .first)
            } catch {
                proxy.note("c\(conn): cannot intercept TLS for \(target.host): \(error)")
                context.close(promise: nil)
                return
            }
        }
        hand(context: context, to: route, bytes: buffer!)
    }

    /// Turns the channel into a relay to `route` and replays what was read from the pipeline's
    /// head, so that bytes of a TLS handshake reach the TLS handler just added.
    private func hand(context: ChannelHandlerContext, to route: ProxyTarget, bytes: ByteBuffer) {
        buffer = nil
        do {
            try connection.attach(route: route, rewriteHost: false)
        } catch {
            context.close(promise: nil)
            return
        }
        let pipeline = context.pipeline.syncOperations
        pipeline.removeHandler(self, promise: nil)
        pipeline.fireChannelRead(NIOAny(bytes))
    }

    private func refuse(_ context: ChannelHandlerContext, _ status: Int, _ reason: String) {
        buffer = nil
        proxy.refuse(context.channel, conn: conn, status, reason)
    }
}

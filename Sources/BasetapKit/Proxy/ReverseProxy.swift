import Foundation
import NIOCore
import NIOPosix

/// `basetap proxy` in reverse mode: clients connect to basetap, basetap connects to one upstream.
/// Every byte is relayed as it arrives, except that the upgrade request's Host header names the
/// upstream; a copy of each direction goes to the `Inspector`.
public final class ReverseProxy: @unchecked Sendable {
    public struct Options: Sendable {
        public var listen: ProxyTarget
        public var upstream: ProxyTarget
        public var check = CheckOptions()
        public var format = OutputFormat.text
        public var style = Style(enabled: false)
        public var logMessages = false
        public var quiet = false
        public var record: String?
        public var pcap: String?
        public var maxConnections = 1024
        public var maxMessageSize = InflateLimits.defaultMaxSize
        /// Close a connection whose both directions were silent this many seconds.
        public var idleTimeout: Int?
        /// Close a connection with 1008 when an error-level violation crosses it.
        public var block = false
        /// Serve Prometheus metrics here.
        public var metrics: ProxyTarget?

        public init(listen: ProxyTarget, upstream: ProxyTarget) {
            self.listen = listen
            self.upstream = upstream
        }
    }

    public let options: Options
    private let group: MultiThreadedEventLoopGroup
    private let inspector: Inspector
    private let messages: OutputFile
    private var server: Channel?
    private var metricsServer: Channel?
    private let lock = NSLock()
    private var clients: [Int: Channel] = [:]
    private var upstreams: [Int: Channel] = [:]
    private var nextConn = 0
    public private(set) var connectionsAccepted = 0

    public init(options: Options, output: OutputFile = .standardOutput, messages: OutputFile = .standardError) throws {
        self.options = options
        self.messages = messages
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        var inspect = Inspector.Options()
        inspect.check = options.check
        inspect.format = options.format
        inspect.style = options.style
        inspect.logMessages = options.logMessages
        inspect.quiet = options.quiet
        inspect.record = options.record
        inspect.pcap = options.pcap
        inspect.limits.maxSize = options.maxMessageSize
        inspect.maxFrameSize = options.maxMessageSize
        let blocker = Blocker()
        if options.block { inspect.onError = { conn, violation in blocker.proxy?.block(conn, violation) } }
        inspector = try Inspector(options: inspect, output: output, messages: messages)
        blocker.proxy = self
    }

    /// Starts listening; returns the bound address (useful with port 0).
    @discardableResult
    public func start() throws -> SocketAddress {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try accept(channel) }
            }
        do {
            server = try bootstrap.bind(host: options.listen.host, port: options.listen.port).wait()
        } catch {
            throw BasetapError.usage("--listen \(options.listen.authority): cannot listen: \(error)")
        }
        if let metrics = options.metrics {
            let metricsBootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(MetricsHandler { [self] in
                            lock.lock()
                            let open = clients.count
                            let accepted = connectionsAccepted
                            lock.unlock()
                            return inspector.metrics(connectionsAccepted: accepted, connectionsOpen: open)
                        })
                    }
                }
            do {
                metricsServer = try metricsBootstrap.bind(host: metrics.host, port: metrics.port).wait()
            } catch {
                try? server?.close().wait()
                throw BasetapError.usage("--metrics \(metrics.authority): cannot listen: \(error)")
            }
        }
        return server!.localAddress!
    }

    private func accept(_ channel: Channel) throws {
        lock.lock()
        nextConn += 1
        let conn = nextConn
        let full = clients.count >= options.maxConnections
        if !full {
            clients[conn] = channel
            connectionsAccepted += 1
        }
        lock.unlock()
        if full {
            channel.close(promise: nil)
            note("connection refused: --max-connections \(options.maxConnections) reached")
            return
        }
        let client = Self.endpoint(channel.remoteAddress)
        let server = Self.endpoint(channel.localAddress)
        inspector.open(conn, client: client, server: server)
        channel.closeFuture.whenComplete { [self] _ in
            lock.lock()
            clients[conn] = nil
            upstreams[conn] = nil
            lock.unlock()
            inspector.end(conn, error: nil)
        }
        try addIdleTimeout(channel, conn: conn)
        try channel.pipeline.syncOperations.addHandler(TapHandler(conn: conn, dir: .c2s, inspector: inspector))
        try channel.pipeline.syncOperations.addHandler(UpgradeHandler(conn: conn, proxy: self))
    }

    /// Connects the upstream for a client whose request head is complete, on the client's event loop.
    fileprivate func connectUpstream(conn: Int, client: Channel, firstBytes: ByteBuffer) {
        ClientBootstrap(group: client.eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connectTimeout(.seconds(10))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try addIdleTimeout(channel, conn: conn)
                    try channel.pipeline.syncOperations.addHandler(TapHandler(conn: conn, dir: .s2c, inspector: inspector))
                }
            }
            .connect(host: options.upstream.host, port: options.upstream.port)
            .whenComplete { [self] result in
                switch result {
                case .success(let upstream):
                    lock.lock()
                    upstreams[conn] = upstream
                    lock.unlock()
                    let (a, b) = GlueHandler.matchedPair()
                    do {
                        try client.pipeline.syncOperations.addHandler(a)
                        try upstream.pipeline.syncOperations.addHandler(b)
                    } catch {
                        client.close(promise: nil)
                        upstream.close(promise: nil)
                        return
                    }
                    upstream.writeAndFlush(firstBytes, promise: nil)
                    client.setOption(.autoRead, value: true).whenComplete { _ in client.read() }
                case .failure(let error):
                    let reason = "upstream \(options.upstream.authority) unreachable: \(Self.describe(error))"
                    note("c\(conn): \(reason)")
                    var response = client.allocator.buffer(capacity: 256)
                    response.writeString("HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: \(reason.utf8.count + 10)\r\nConnection: close\r\n\r\nbasetap: \(reason)\n")
                    client.writeAndFlush(response).whenComplete { _ in client.close(promise: nil) }
                    inspector.end(conn, error: reason)
                }
            }
    }

    /// Stops accepting, closes WebSocket connections with 1001 and the rest at once, waits for
    /// the inspector to drain, closes the recordings, and returns the check summary.
    public func stop() -> (CheckSummary, DecodeSummary, String?) {
        try? server?.close().wait()
        try? metricsServer?.close().wait()
        lock.lock()
        let open = clients
        lock.unlock()
        for (_, channel) in open {
            var goingAway = channel.allocator.buffer(capacity: 32)
            goingAway.writeBytes(FrameEncoder.encode(WebSocketFrame(opcode: 0x8, payload: [0x03, 0xE9] + Array("basetap stopped".utf8))))
            channel.writeAndFlush(goingAway).whenComplete { _ in
                channel.eventLoop.scheduleTask(in: .milliseconds(100)) { channel.close(promise: nil) }
            }
        }
        for (_, channel) in open { try? channel.closeFuture.wait() }
        let summary = inspector.finish()
        try? group.syncShutdownGracefully()
        return (summary, inspector.summary, inspector.recordError)
    }

    public var recordsWritten: Int { inspector.queue.sync { inspector.recordsWritten } }

    private func addIdleTimeout(_ channel: Channel, conn: Int) throws {
        guard let seconds = options.idleTimeout else { return }
        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: .seconds(Int64(seconds))))
        try channel.pipeline.syncOperations.addHandler(IdleCloser(conn: conn, seconds: seconds, inspector: inspector))
    }

    /// `--block`: a Close 1008 naming the rule to both peers, then the connection is closed.
    /// The offending message has already been relayed: inspection runs beside the relay.
    fileprivate func block(_ conn: Int, _ violation: Violation) {
        lock.lock()
        let client = clients[conn]
        let upstream = upstreams[conn]
        clients[conn] = nil
        lock.unlock()
        guard let client else { return }
        let reason = Array("basetap: \(violation.rule.id)".utf8.prefix(120))
        note("c\(conn): blocked with 1008 (\(violation.rule.id) at \(violation.pointer.isEmpty ? "\"\"" : violation.pointer))")
        inspector.failure(conn, "blocked by basetap: \(violation.rule.id)")
        var generator = SystemRandomNumberGenerator()
        let toClient = FrameEncoder.encode(WebSocketFrame(opcode: 0x8, payload: [0x03, 0xF0] + reason))
        let toServer = FrameEncoder.encode(WebSocketFrame(opcode: 0x8, maskKey: FrameEncoder.randomMask(using: &generator), payload: [0x03, 0xF0] + reason))
        for (channel, bytes) in [(client, toClient), (upstream, toServer)] {
            guard let channel else { continue }
            channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).whenComplete { _ in
                channel.eventLoop.scheduleTask(in: .milliseconds(100)) { channel.close(promise: nil) }
            }
        }
    }

    private func note(_ text: String) {
        try? messages.write("basetap: \(text)\n")
        try? messages.flush()
    }

    static func endpoint(_ address: SocketAddress?) -> Endpoint {
        switch address {
        case .v4(let a):
            let bytes = withUnsafeBytes(of: a.address.sin_addr.s_addr) { Array($0) }
            return Endpoint(address: bytes, port: UInt16(address?.port ?? 0))
        case .v6(let a):
            let bytes = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            return Endpoint(address: bytes, port: UInt16(address?.port ?? 0))
        default:
            return Endpoint(address: [127, 0, 0, 1], port: 0)
        }
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first { return "\(first.error)" }
        return "\(error)"
    }
}

/// Answers any HTTP request with the Prometheus text of the moment, then closes.
private final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let body: @Sendable () -> String
    private var request: [UInt8] = []

    init(body: @escaping @Sendable () -> String) {
        self.body = body
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        request += unwrapInboundIn(data).readableBytesView
        guard request.firstRange(of: [0x0D, 0x0A, 0x0D, 0x0A]) != nil || request.count > 8192 else { return }
        request.removeAll()
        // The numbers come from the inspector's queue: gather them off the event loop, which also relays traffic.
        let loop = context.eventLoop
        let bound = NIOLoopBound(context, eventLoop: loop)
        let body = self.body
        DispatchQueue.global().async {
            let text = body()
            loop.execute {
                let context = bound.value
                let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n" + text
                context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: response))).whenComplete { _ in
                    context.close(promise: nil)
                }
            }
        }
    }
}

/// Lets the proxy hand itself to the inspector's callback once both exist.
private final class Blocker: @unchecked Sendable {
    weak var proxy: ReverseProxy?
}

/// Closes a connection that saw no traffic for `--idle-timeout`, noting why for its `end` record.
private final class IdleCloser: ChannelInboundHandler {
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
            inspector.failure(conn, "closed after \(seconds) s without traffic (--idle-timeout)")
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Reads the client's first request head, rewrites its Host header for the upstream, and then
/// hands the channel to the relay. It is the only place basetap changes a byte.
private final class UpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let conn: Int
    private let proxy: ReverseProxy
    private var buffer: ByteBuffer?

    init(conn: Int, proxy: ReverseProxy) {
        self.conn = conn
        self.proxy = proxy
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
        let view = buffer!.readableBytesView
        guard let end = view.firstRange(of: [0x0D, 0x0A, 0x0D, 0x0A]) else {
            if view.count > HTTPHeadReader.defaultMaxHeadSize { context.close(promise: nil) }
            return
        }
        let headLength = end.upperBound - view.startIndex
        let head = Array(view.prefix(headLength))
        let rest = Array(view.dropFirst(headLength))
        var first = context.channel.allocator.buffer(capacity: buffer!.readableBytes + 64)
        first.writeBytes(Self.rewritingHost(head, to: proxy.options.upstream.authority))
        first.writeBytes(rest)
        buffer = nil
        context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
        proxy.connectUpstream(conn: conn, client: context.channel, firstBytes: first)
    }

    static func rewritingHost(_ head: [UInt8], to authority: String) -> [UInt8] {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        if let i = lines.firstIndex(where: { $0.lowercased().hasPrefix("host:") }) {
            lines[i] = "Host: \(authority)"
        }
        return Array(lines.joined(separator: "\r\n").utf8)
    }
}

import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// `basetap proxy`. In reverse mode clients connect to basetap and basetap connects each of them to
/// one upstream; in forward mode basetap is an HTTP proxy (absolute-form requests and CONNECT
/// tunnels, TLS intercepted with basetap's CA). Every byte is relayed as it arrives, except that
/// the upgrade request's Host header (reverse) or request target (forward) names the upstream; a
/// copy of each direction's plaintext goes to the `Inspector`.
public final class ProxyServer: @unchecked Sendable {
    public enum Mode: Sendable {
        case reverse(upstream: ProxyTarget)
        case forward(authority: CertificateAuthority)
    }

    public struct Options: Sendable {
        public var listen: ProxyTarget
        public var mode: Mode
        /// Speak wss to clients (reverse mode).
        public var listenerTLS: ListenerTLS?
        public var upstreamTLS = UpstreamTLS()
        /// NSS key-log file for both TLS legs.
        public var keyLog: String?
        /// Forward mode: hosts clients may reach (exact names, or `*.suffix`); nil allows all.
        public var allowHosts: [String]?
        public var check = CheckOptions()
        public var format = OutputFormat.text
        public var style = Style(enabled: false)
        public var logMessages = false
        public var logSecrets = false
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
        /// What a failing recording (disk full, file gone) does: stop the proxy, or relay on unrecorded.
        public var stopOnRecordError = true
        /// Seconds a client has to send its request head (slowloris defence).
        public var headerTimeout = 10
        /// Largest request head a client may send; past it, 431.
        public var maxHeaderSize = HTTPHeadReader.defaultMaxHeadSize
        public var maxInflateRatio = InflateLimits.defaultMaxRatio

        public init(listen: ProxyTarget, mode: Mode) {
            self.listen = listen
            self.mode = mode
        }
    }

    public let options: Options
    private let group: MultiThreadedEventLoopGroup
    private let inspector: Inspector
    private let messages: OutputFile
    private let listenerContext: NIOSSLContext?
    private let upstreamContext: NIOSSLContext
    private let issuer: LeafIssuer?
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
        let keyLog = try options.keyLog.map { try KeyLogFile(path: $0) }
        listenerContext = try options.listenerTLS?.context(keyLog: keyLog)
        upstreamContext = try options.upstreamTLS.context(keyLog: keyLog)
        if case .forward(let authority) = options.mode {
            issuer = LeafIssuer(authority: authority, keyLog: keyLog)
        } else {
            issuer = nil
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        var inspect = Inspector.Options()
        inspect.check = options.check
        inspect.format = options.format
        inspect.style = options.style
        inspect.logMessages = options.logMessages
        inspect.logSecrets = options.logSecrets
        inspect.quiet = options.quiet
        inspect.record = options.record
        inspect.pcap = options.pcap
        inspect.limits.maxSize = options.maxMessageSize
        inspect.maxFrameSize = options.maxMessageSize
        inspect.limits.maxRatio = options.maxInflateRatio
        inspect.maxHeadSize = options.maxHeaderSize
        let blocker = Blocker()
        if options.block { inspect.onError = { conn, violation in blocker.proxy?.block(conn, violation) } }
        inspect.onRecordError = { reason in blocker.proxy?.recordingFailed(reason) }
        inspector = try Inspector(options: inspect, output: output, messages: messages)
        blocker.proxy = self
    }

    /// Called when the proxy must stop by itself (a recording that cannot be written, with
    /// `stopOnRecordError`); the command line stops as it would on Ctrl-C.
    public var onFatal: (@Sendable (String) -> Void)?

    fileprivate func recordingFailed(_ reason: String) {
        if options.stopOnRecordError {
            note("recording failed: \(reason); stopping (--on-record-error stop), what was recorded before is kept")
            onFatal?(reason)
        } else {
            note("recording failed: \(reason); relaying goes on unrecorded (--on-record-error continue)")
        }
    }

    /// Starts listening; returns the bound address (useful with port 0).
    @discardableResult
    public func start() throws -> SocketAddress {
        Self.raiseOpenFileLimit()
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
        channel.closeFuture.whenComplete { [self] _ in
            lock.lock()
            clients[conn] = nil
            upstreams[conn] = nil
            lock.unlock()
            inspector.end(conn, error: nil)
        }
        if let listenerContext {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: listenerContext))
        }
        try addIdleTimeout(channel, conn: conn)
        try channel.pipeline.syncOperations.addHandler(HeadDeadline(seconds: options.headerTimeout, conn: conn, proxy: self))
        switch options.mode {
        case .reverse(let upstream):
            try attachRelay(channel, conn: conn, route: upstream, rewriteHost: true)
        case .forward:
            try channel.pipeline.syncOperations.addHandler(ForwardHandler(conn: conn, proxy: self, issuer: issuer!))
        }
    }

    /// From here on the client's plaintext is inspected, and its first request head decides the upstream.
    func attachRelay(_ channel: Channel, conn: Int, route: ProxyTarget, rewriteHost: Bool) throws {
        inspector.open(conn, client: Self.endpoint(channel.remoteAddress), server: Self.endpoint(channel.localAddress))
        try channel.pipeline.syncOperations.addHandler(TapHandler(conn: conn, dir: .c2s, inspector: inspector))
        try channel.pipeline.syncOperations.addHandler(UpgradeHandler(conn: conn, route: route, rewriteHost: rewriteHost, proxy: self))
    }

    /// Forward mode's `--allow-hosts`: exact names, or `*.example.com` for any name under it.
    func allows(_ host: String) -> Bool {
        guard let allowed = options.allowHosts else { return true }
        let name = host.lowercased()
        return allowed.contains { pattern in
            let pattern = pattern.lowercased()
            return pattern.hasPrefix("*.") ? name.hasSuffix(pattern.dropFirst()) : name == pattern
        }
    }

    /// Connects the upstream for a client whose request head is complete, on the client's event
    /// loop; over TLS the relay starts only after the handshake, so a bad certificate is a 502.
    func connectUpstream(conn: Int, client: Channel, route: ProxyTarget, firstBytes: ByteBuffer) {
        if let deadline = try? client.pipeline.syncOperations.handler(type: HeadDeadline.self) {
            client.pipeline.syncOperations.removeHandler(deadline, promise: nil)
        }
        let handshake = client.eventLoop.makePromise(of: Void.self)
        ClientBootstrap(group: client.eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connectTimeout(.seconds(10))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if route.tls {
                        let tls = try NIOSSLClientHandler(context: upstreamContext, serverHostname: UpstreamTLS.serverName(route.host))
                        try channel.pipeline.syncOperations.addHandler(tls)
                        try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake))
                    } else {
                        handshake.succeed()
                    }
                    try addIdleTimeout(channel, conn: conn)
                    try channel.pipeline.syncOperations.addHandler(TapHandler(conn: conn, dir: .s2c, inspector: inspector))
                }
            }
            .connect(host: route.host, port: route.port)
            .flatMapError { error in
                handshake.fail(error)
                return client.eventLoop.makeFailedFuture(error)
            }
            .flatMap { upstream in
                handshake.futureResult.map { upstream }.flatMapErrorThrowing { error in
                    upstream.close(promise: nil)
                    throw UpstreamTLSFailure(error: error)
                }
            }
            .whenComplete { [self] result in
                switch result {
                case .success(let upstream):
                    // The client may have left while the upstream was being reached: nothing to relay for.
                    guard client.isActive else { return upstream.close(promise: nil) }
                    lock.lock()
                    upstreams[conn] = upstream
                    lock.unlock()
                    let clientTLS = (try? client.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)) != nil
                    let (a, b) = GlueHandler.matchedPair(halfClose: !route.tls && !clientTLS)
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
                    let reason = (error as? UpstreamTLSFailure).map { "upstream \(route.authority): \(TapHandler.describe($0.error, dir: .s2c))" }
                        ?? "upstream \(route.authority) unreachable: \(Self.describe(error))"
                    note("c\(conn): \(reason)")
                    client.writeAndFlush(Self.httpError(502, reason, allocator: client.allocator)).whenComplete { _ in client.close(promise: nil) }
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
        for (conn, _) in open { inspector.stopping(conn) }
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
        inspector.failure(conn, "blocked by basetap: \(violation.rule.id)", byBasetap: true)
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

    /// Two descriptors per relayed connection: the usual soft limit of 1024 would cap the proxy near
    /// 500 connections, far below --max-connections, so it is raised to the hard limit.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Answers a client with an HTTP error, says why on the terminal, and closes the connection.
    func refuse(_ channel: Channel, conn: Int, _ status: Int, _ reason: String) {
        note("c\(conn): refused (\(status)): \(reason)")
        channel.writeAndFlush(Self.httpError(status, reason, allocator: channel.allocator)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// A request head still unfinished past `--max-header-size` (reverse and forward mode alike).
    func refuseLongHead(_ channel: Channel, conn: Int) {
        refuse(channel, conn: conn, 431, "request head longer than \(options.maxHeaderSize) bytes (--max-header-size)")
    }

    /// A short plain-text HTTP error that closes the connection.
    static func httpError(_ status: Int, _ reason: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        let phrases = [400: "Bad Request", 403: "Forbidden", 408: "Request Timeout", 431: "Request Header Fields Too Large", 502: "Bad Gateway"]
        let body = "basetap: \(reason)\n"
        return allocator.buffer(string: "HTTP/1.1 \(status) \(phrases[status] ?? "Error")\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body)
    }

    func note(_ text: String) {
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
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first { return describe(first.error) }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if error is ChannelError, case .connectTimeout = error as! ChannelError { return "no answer within the connect timeout" }
        return "\(error)"
    }
}

/// Lets the proxy hand itself to the inspector's callback once both exist.
private final class Blocker: @unchecked Sendable {
    weak var proxy: ProxyServer?
}

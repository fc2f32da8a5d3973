import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// `basetap proxy`. In reverse mode clients connect to basetap and basetap connects each of them to
/// one upstream; in forward mode basetap is an HTTP proxy (absolute-form requests and CONNECT
/// tunnels, TLS intercepted with basetap's CA). This class binds, accepts, and keeps the table of
/// open connections that stopping, metrics and control need; each `ProxyConnection` does the rest
/// on its own event loop.
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
        public var maxFragments = InflateLimits.defaultMaxFragments

        public init(listen: ProxyTarget, mode: Mode) {
            self.listen = listen
            self.mode = mode
        }
    }


    public let options: Options
    /// Hold, release and inject messages while the proxy runs.
    public let control = ProxyControl()
    private let group: MultiThreadedEventLoopGroup
    let writer: SinkWriter
    let tapSettings: ProxyTap.Settings
    private let listenerContext: NIOSSLContext?
    let upstreamContext: NIOSSLContext
    private let issuer: LeafIssuer?
    private var server: Channel?
    private var metricsServer: Channel?
    /// Where `/metrics` is served (the port bound, when `--metrics` asked for any).
    public var metricsURL: String? {
        guard let metrics = options.metrics, let port = metricsServer?.localAddress?.port else { return nil }
        return "http://" + ProxyTarget(host: metrics.host, port: port, tls: false).authority + "/metrics"
    }
    /// The connections open now, for stopping, metrics and control; each one lives on its event
    /// loop, and other threads reach it only through that loop.
    private let table = NIOLockedValueBox(Table())
    private struct Table {
        var connections: [Int: NIOLoopBound<ProxyConnection>] = [:]
        var next = 0
        var accepted = 0
    }

    public var connectionsAccepted: Int { table.withLockedValue { $0.accepted } }

    /// `inspection` gets every record and violation as they are written (the web inspector's store).
    init(options: Options, output: OutputFile = .standardOutput, messages: OutputFile = .standardError,
         inspection: (any InspectionSink)? = nil) throws {
        self.options = options
        let keyLog = try options.keyLog.map { try KeyLogFile(path: $0) }
        listenerContext = try options.listenerTLS?.context(keyLog: keyLog)
        upstreamContext = try options.upstreamTLS.context(keyLog: keyLog)
        if case .forward(let authority) = options.mode {
            issuer = LeafIssuer(authority: authority, keyLog: keyLog)
        } else {
            issuer = nil
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        var settings = ProxyTap.Settings()
        settings.check = options.check
        settings.format = options.format
        settings.style = options.style
        settings.logMessages = options.logMessages
        settings.logSecrets = options.logSecrets
        settings.quiet = options.quiet
        settings.record = options.record != nil
        settings.pcap = options.pcap != nil
        settings.limits.maxSize = options.maxMessageSize
        settings.limits.maxRatio = options.maxInflateRatio
        settings.limits.maxFragments = options.maxFragments
        settings.maxFrameSize = options.maxMessageSize
        settings.maxHeadSize = options.maxHeaderSize
        settings.inspect = inspection != nil
        tapSettings = settings
        let late = LateBinding()
        writer = try SinkWriter(output: output, messages: messages, record: options.record, pcap: options.pcap, inspector: inspection) { reason in
            late.proxy?.recordingFailed(reason)
        }
        late.proxy = self
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
            throw BasetapError.usage("--listen \(options.listen.authority): cannot listen: \(ConnectionErrorText.describe(error))")
        }
        if let metrics = options.metrics {
            let metricsBootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(MetricsHandler { [self] in metricsText() })
                    }
                }
            do {
                metricsServer = try metricsBootstrap.bind(host: metrics.host, port: metrics.port).wait()
            } catch {
                try? server?.close().wait()
                throw BasetapError.usage("--metrics \(metrics.authority): cannot listen: \(ConnectionErrorText.describe(error))")
            }
        }
        return server!.localAddress!
    }

    private func accept(_ channel: Channel) throws {
        let (conn, full) = table.withLockedValue { table -> (Int, Bool) in
            table.next += 1
            return (table.next, table.connections.count >= options.maxConnections)
        }
        if full {
            channel.close(promise: nil)
            note("connection refused: --max-connections \(options.maxConnections) reached")
            return
        }
        let connection = ProxyConnection(conn: conn, client: channel, proxy: self)
        table.withLockedValue {
            $0.connections[conn] = NIOLoopBound(connection, eventLoop: channel.eventLoop)
            $0.accepted += 1
        }
        channel.closeFuture.assumeIsolated().whenComplete { _ in connection.inactive(.c2s) }
        if let listenerContext {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: listenerContext))
        }
        try addIdleTimeout(channel, conn: conn)
        try channel.pipeline.syncOperations.addHandler(HeadDeadline(seconds: options.headerTimeout, conn: conn, proxy: self))
        switch options.mode {
        case .reverse(let upstream):
            try connection.attach(route: upstream, rewriteHost: true)
        case .forward:
            try channel.pipeline.syncOperations.addHandler(ForwardHandler(connection: connection, proxy: self, issuer: issuer!))
        }
    }

    /// A connection is over (its `end` record written).
    func closed(_ conn: Int) {
        table.withLockedValue { $0.connections[conn] = nil }
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

    private func connection(_ conn: Int) -> NIOLoopBound<ProxyConnection>? {
        table.withLockedValue { $0.connections[conn] }
    }

    /// Settles a held message; the future says whether it was still held.
    public func release(conn: Int, hold: Int, _ release: Release) -> EventLoopFuture<Bool> {
        guard let connection = connection(conn) else { return group.next().makeSucceededFuture(false) }
        return connection.eventLoop.submit {
            Direction.allCases.contains { connection.value.settle($0, hold, release) }
        }
    }

    /// Sends a new message into connection `conn`, toward the server (`.c2s`) or the client (`.s2c`),
    /// between two messages. With `answer`, the answer to a request with an `id` goes there, not to the client.
    public func inject(conn: Int, _ dir: Direction, kind: CaptureRecord.Kind = .text, _ payload: [UInt8],
                       answer: (@Sendable (CaptureRecord) -> Void)? = nil) -> EventLoopFuture<Bool> {
        guard let connection = connection(conn) else { return group.next().makeSucceededFuture(false) }
        return connection.eventLoop.submit { connection.value.inject(dir, kind: kind, payload, answer: answer) }
    }

    /// Stops accepting, closes WebSocket connections with 1001 and the rest at once, waits for
    /// them to end, closes the recordings, and returns the summaries.
    public func stop() -> (CheckSummary, DecodeSummary, String?) {
        try? server?.close().wait()
        try? metricsServer?.close().wait()
        let open = table.withLockedValue { Array($0.connections.values) }
        let closed = open.map { connection in
            connection.eventLoop.flatSubmit {
                connection.value.close(failure: nil, code: 1001, reason: "basetap stopped")
                return connection.value.client.closeFuture
            }
        }
        for future in closed { try? future.wait() }
        // A connection's end is written on its loop after its channel closed: wait for those too.
        for connection in open { try? connection.eventLoop.submit {}.wait() }
        let totals = writer.finish()
        try? group.syncShutdownGracefully()
        return (totals.check, totals.decode, totals.recordError)
    }

    public var recordsWritten: Int { writer.totals().recordsWritten }

    func addIdleTimeout(_ channel: Channel, conn: Int) throws {
        guard let seconds = options.idleTimeout else { return }
        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: .seconds(Int64(seconds))))
        try channel.pipeline.syncOperations.addHandler(IdleCloser { [self] in
            connection(conn)?.value.close(failure: "closed after \(seconds) s without traffic (--idle-timeout)", code: nil)
        })
    }

    /// Prometheus text exposition of what the proxy has relayed and found so far.
    private func metricsText() -> String {
        let (accepted, open) = table.withLockedValue { ($0.accepted, $0.connections.count) }
        let totals = writer.totals()
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Int)]) {
            lines.append("# HELP basetap_\(name) \(help)")
            lines.append("# TYPE basetap_\(name) \(type)")
            for (labels, value) in samples { lines.append("basetap_\(name)\(labels) \(value)") }
        }
        let counts = totals.counts
        metric("connections_total", "counter", "Client connections accepted.", [("", accepted)])
        metric("connections_open", "gauge", "Client connections open now.", [("", open)])
        metric("websocket_connections_total", "counter", "Connections upgraded to WebSocket (closed ones).", [("", totals.decode.webSocketConnections)])
        metric("non_websocket_requests_total", "counter", "Requests that were not a WebSocket upgrade (relayed as they are).", [("", counts.nonWebSocket)])
        metric("messages_total", "counter", "WebSocket messages relayed and inspected.", [("{dir=\"c2s\"}", counts.messages.c2s), ("{dir=\"s2c\"}", counts.messages.s2c)])
        metric("bytes_total", "counter", "Bytes relayed.", [("{dir=\"c2s\"}", counts.bytes.c2s), ("{dir=\"s2c\"}", counts.bytes.s2c)])
        let byRule = counts.violations.sorted { $0.key < $1.key }.map { rule, count in
            ("{rule=\"\(rule.id)\",severity=\"\(rule.severity.rawValue)\"}", count)
        }
        metric("violations_total", "counter", "Rule violations found, by rule.", byRule)
        metric("writer_backlog_bytes", "gauge", "Findings and recordings not yet written, in bytes (the writer's queue).", [("", writer.backlogBytes)])
        return lines.joined(separator: "\n") + "\n"
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

    /// A line on standard error, through the one writer of it.
    func note(_ text: String) {
        writer.note(text)
    }
}

/// Lets the proxy hand itself to the writer's callback once both exist.
private final class LateBinding: @unchecked Sendable {
    weak var proxy: ProxyServer?
}

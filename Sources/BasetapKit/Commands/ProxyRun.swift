import Foundation

/// `basetap proxy` from start to summary: listens, says where it proxies, optionally holds messages
/// on the terminal (`--intercept`), relays until SIGINT or SIGTERM (or a recording that cannot be
/// written), then closes connections, writes out the recordings and prints the summary.
/// The command line only parses arguments into it.
public struct ProxyRun {
    public var options: ProxyServer.Options
    public var intercept: MessageFilter?
    /// Serve the web inspector here (`--ui`), with this token (random when nil).
    public var ui: ProxyTarget?
    public var uiToken: String?
    public var messages: OutputFile

    public init(options: ProxyServer.Options, messages: OutputFile = .standardError) {
        self.options = options
        self.messages = messages
    }

    public struct Outcome {
        public var check: CheckSummary
        public var decode: DecodeSummary
        public var connections: Int
        public var recordsWritten: Int
    }

    /// Runs until a signal; throws for a recording that failed (exit 2), returns the summaries.
    public func run() throws -> Outcome {
        let store = ui.map { _ in InspectorStore(limit: InspectorStore.liveLimit) }
        let proxy = try ProxyServer(options: options, messages: messages, inspection: store)
        let inspector = try ui.map { try InspectorServer.live(proxy, store: store!, listen: $0, token: uiToken) }
        defer { inspector?.stop() }
        if let intercept { TerminalIntercept(proxy: proxy, filter: intercept).start() }
        let stop = StopSignal()
        proxy.onFatal = { _ in stop.stop() }
        let address = try proxy.start()
        let listening = ProxyTarget(host: options.listen.host, port: address.port ?? options.listen.port, tls: options.listenerTLS != nil)
        // Connections are accepted from here on, and their notes go through the proxy's one writer
        // of standard error: so does the banner.
        switch options.mode {
        case .reverse(let upstream):
            proxy.note("proxying \(listening.url) to \(upstream.url) (Ctrl-C to stop)")
        case .forward:
            proxy.note("forward proxy on http://\(listening.authority) (Ctrl-C to stop)")
        }
        if let metrics = proxy.metricsURL { proxy.note("metrics on \(metrics)") }
        if let inspector { proxy.note("web inspector on \(inspector.url)") }
        stop.wait()
        let (check, decode, recordError) = proxy.stop()
        let outcome = Outcome(check: check, decode: decode, connections: proxy.connectionsAccepted, recordsWritten: proxy.recordsWritten)
        var line = "basetap: stopped after \(ViolationFormatter.count(outcome.connections, "connection")) (\(decode.webSocketConnections) WebSocket"
        let other = decode.otherStreams + decode.tlsStreams
        line += other > 0 ? ", \(other) not WebSocket)" : ")"
        if let record = options.record { line += "; \(outcome.recordsWritten) records written to \(record)" }
        let summary = ViolationFormatter(format: .text, style: Style.auto(for: messages)).summary(check)
        try? messages.write(line + "\n" + summary)
        try? messages.flush()
        if let recordError { throw BasetapError.input(place: options.record ?? options.pcap ?? "recording", message: recordError) }
        return outcome
    }
}

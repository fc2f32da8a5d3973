import ArgumentParser
import BasetapKit
import Foundation

struct Proxy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Sit between WebSocket clients and a server, relay every byte, and show rule violations live.",
        discussion: """
            Reverse mode (--upstream): clients connect to --listen, basetap connects each of them to --upstream. The upgrade request goes upstream with its path, query, headers, subprotocols and Sec-WebSocket-Key (only Host is changed, and the path is put behind --upstream's own path when it has one), so the server's answer, extensions included, reaches the client unchanged; then every byte is relayed as it arrives, frames RFC 6455 forbids included. A copy of each direction is decoded and checked beside the relay. Ctrl-C (or SIGTERM) stops accepting, closes WebSocket connections with 1001, writes out the recordings and prints the summary.

            Forward mode (--forward): basetap is an HTTP proxy. Plain ws goes through absolute-form requests (GET ws://host/path); wss goes through CONNECT host:443, whose TLS basetap terminates with a certificate for the requested name signed by its own CA (see `basetap ca`; created on first use), and re-encrypts toward the server, verifying the server's certificate unless --insecure-upstream.

            TLS: --tls-cert/--tls-key make the listener speak wss (reverse mode); a wss:// upstream is verified against the system's roots plus --upstream-ca. --sslkeylog writes the keys of both legs for Wireshark. Recordings always hold the plaintext.

            Examples:
              basetap proxy --upstream ws://127.0.0.1:9000
              basetap proxy --upstream wss://api.example.com --tls-cert server.pem --tls-key server-key.pem
              basetap proxy --forward --listen 127.0.0.1:8080 --record session.jsonl
              basetap proxy --listen 127.0.0.1:8080 --upstream ws://10.0.0.5:80 --record session.jsonl --pcap session.pcap
              basetap proxy --upstream ws://localhost:9000 --format jsonl --quiet > violations.jsonl
              basetap proxy --upstream ws://localhost:9000 --intercept 'dir:c2s type:chat.send' 
            """
    )

    @Option(help: ArgumentHelp("Address to listen on (loopback unless you say otherwise).", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("Reverse mode: the server to forward to. A path (and query) here is joined in front of each client's: with ws://host:9000/ws a client's / goes to /ws and /chat to /ws/chat.", valueName: "ws[s]://host:port[/path]"))
    var upstream: String?

    @Flag(help: "Forward mode: be an HTTP proxy (absolute-form ws:// requests and CONNECT tunnels, TLS intercepted).")
    var forward = false

    @Option(help: ArgumentHelp("Certificate chain (PEM) for a wss listener.", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("Private key (PEM) for --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Flag(help: "Do not verify upstream certificates (self-signed test servers).")
    var insecureUpstream = false

    @Option(help: ArgumentHelp("Also trust these CA certificates (PEM) for upstreams.", valueName: "file"))
    var upstreamCa: String?

    @Option(help: ArgumentHelp("Forward mode: the CA directory (default: $BASETAP_CA_DIR or ~/.basetap).", valueName: "dir"))
    var caDir: String?

    @Option(help: ArgumentHelp("Append NSS key-log lines for both TLS legs to this file (Wireshark: TLS > (Pre)-Master-Secret log).", valueName: "file"))
    var sslkeylog: String?

    @Option(help: ArgumentHelp("Forward mode: the only hosts clients may reach, comma-separated (`*.example.com` allowed). Required when listening on a non-loopback address.", valueName: "hosts"))
    var allowHosts: String?

    @Option(help: ArgumentHelp("Record every connection, message and control frame to this JSONL capture.", valueName: "file"))
    var record: String?

    @Option(help: ArgumentHelp("Record both legs' plaintext as TCP/IP packets to this pcap file.", valueName: "file"))
    var pcap: String?

    @Flag(help: "Also print every upgrade (with its headers) and every message as it passes.")
    var logMessages = false

    @Flag(help: "Show credentials in the message log as they are: Authorization, cookies, and secret-looking query parameters and JSON members (password, token, ...) are '[redacted]' by default. Recordings always keep them.")
    var logSecrets = false

    @Flag(name: .shortAndLong, help: "Print only the summary when stopped.")
    var quiet = false

    @Option(help: "Most client connections at once; more are refused.")
    var maxConnections = 1024

    @OptionGroup var limits: LimitOptions

    @Option(help: ArgumentHelp("Close connections with no traffic either way for this many seconds.", valueName: "seconds"))
    var idleTimeout: Int?

    @Option(help: ArgumentHelp("Serve Prometheus metrics (connections, messages, bytes, violations by rule, queue depth) on this address.", valueName: "host:port"))
    var metrics: String?

    @Flag(help: "Close a connection with 1008 (naming the rule) when an error-level violation crosses it. The message that broke the rule is not relayed: with --block, each message is checked before it goes on.")
    var block = false

    @Option(help: ArgumentHelp(
        "Hold messages that match this filter until you say on the terminal: forward (Enter), edit in $EDITOR, or drop. Filters: dir:c2s type:chat.* id:m1* conn:c3 kind:text /pointer=value words; side by side all must match, 'or', 'not', parentheses.",
        valueName: "filter"))
    var intercept: String?

    @Flag(help: "Serve the web inspector for this proxy (on --ui-listen): browse, filter, hold, edit, drop and inject messages.")
    var ui = false

    @Option(help: ArgumentHelp("Address of the web inspector (loopback unless you say otherwise).", valueName: "host:port"))
    var uiListen = "127.0.0.1:8081"

    @Option(help: ArgumentHelp("The token the web inspector's requests must carry (random unless given).", valueName: "token"))
    var uiToken: String?

    @Option(help: ArgumentHelp("Seconds a client has to send its request head; slower ones get 408 (slowloris).", valueName: "seconds"))
    var headerTimeout = 10

    @Option(help: ArgumentHelp("When a recording cannot be written (disk full, file gone): 'stop' the proxy, keeping what was recorded, or 'continue' relaying unrecorded.", valueName: "stop|continue"))
    var onRecordError = "stop"

    @Option(help: "Exit with 1 when a finding of this severity or worse was reported: 'error' or 'warning'.")
    var failOn: Severity = .error

    @OptionGroup var report: ReportOptions
    @OptionGroup var ruleOptions: RuleOptions

    func run() throws {
        let listenAt = try ProxyTarget(hostPort: listen, defaultPort: nil, flag: "--listen", listening: true)
        var options = ProxyServer.Options(listen: listenAt, mode: try mode(listen: listenAt))
        options.listenerTLS = try listenerTLS()
        options.upstreamTLS = UpstreamTLS(verify: !insecureUpstream, caFile: upstreamCa)
        options.keyLog = sslkeylog
        options.allowHosts = allowHosts.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        options.check = try ruleOptions.checkOptions()
        options.format = report.format
        options.style = report.style(for: .standardOutput)
        options.logMessages = logMessages
        options.logSecrets = logSecrets
        options.quiet = quiet
        options.record = record
        options.pcap = pcap
        options.maxConnections = maxConnections
        options.maxMessageSize = limits.maxMessageSize
        options.maxInflateRatio = limits.maxInflateRatio
        options.maxFragments = limits.maxFragments
        options.maxHeaderSize = limits.maxHeaderSize
        if let idleTimeout {
            guard idleTimeout > 0 else { throw BasetapError.usage("--idle-timeout must be at least 1 second") }
            options.idleTimeout = idleTimeout
        }
        options.block = block
        guard headerTimeout > 0 else { throw BasetapError.usage("--header-timeout must be at least 1 second") }
        options.headerTimeout = headerTimeout
        guard ["stop", "continue"].contains(onRecordError) else { throw BasetapError.usage("--on-record-error must be 'stop' or 'continue', not '\(onRecordError)'") }
        options.stopOnRecordError = onRecordError == "stop"
        options.metrics = try metrics.map { try ProxyTarget(hostPort: $0, defaultPort: nil, flag: "--metrics", listening: true) }
        var run = ProxyRun(options: options)
        if ui {
            run.ui = try ProxyTarget(hostPort: uiListen, defaultPort: nil, flag: "--ui-listen", listening: true)
            run.uiToken = uiToken
        }
        do {
            run.intercept = try intercept.map { try MessageFilter($0) }
        } catch {
            throw BasetapError.usage("--intercept '\(intercept!)': \(error)")
        }
        let outcome = try run.run()
        if outcome.check.fails(at: failOn) { throw ExitCode(1) }
    }

    private func mode(listen: ProxyTarget) throws -> ProxyServer.Mode {
        switch (upstream, forward) {
        case (let upstream?, false):
            return .reverse(upstream: try ProxyTarget(url: upstream))
        case (nil, true):
            if allowHosts == nil && !["127.0.0.1", "::1", "localhost"].contains(listen.host) {
                throw BasetapError.usage("--forward on \(listen.host) would let anyone who can reach it use basetap as an open proxy: add --allow-hosts")
            }
            let directory = caDir ?? CertificateAuthority.defaultDirectory
            let (authority, created) = try CertificateAuthority.loadOrCreate(directory: directory)
            if created {
                FileHandle.standardError.write(Data("basetap: created a CA in \(directory) (see 'basetap ca show' for how to trust it)\n".utf8))
            }
            return .forward(authority: authority)
        case (nil, false):
            throw BasetapError.usage("say where to proxy: --upstream ws://host:port (reverse mode) or --forward")
        case (_?, true):
            throw BasetapError.usage("--upstream and --forward exclude each other")
        }
    }

    private func listenerTLS() throws -> ListenerTLS? {
        switch (tlsCert, tlsKey) {
        case (nil, nil):
            return nil
        case (let cert?, let key?):
            if forward { throw BasetapError.usage("--tls-cert applies to reverse mode; forward-mode clients reach TLS servers through CONNECT") }
            return ListenerTLS(certificateFile: cert, keyFile: key)
        default:
            throw BasetapError.usage("--tls-cert and --tls-key go together")
        }
    }
}

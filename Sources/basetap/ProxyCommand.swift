import ArgumentParser
import BasetapKit
import Foundation

struct Proxy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sit between WebSocket clients and a server, relay every byte, and show rule violations live.",
        discussion: """
            Reverse mode: clients connect to --listen, basetap connects each of them to --upstream. The upgrade request goes upstream with its path, query, headers, subprotocols and Sec-WebSocket-Key (only Host is changed), so the server's answer, extensions included, reaches the client unchanged; then every byte is relayed as it arrives, frames RFC 6455 forbids included. A copy of each direction is decoded and checked beside the relay. Ctrl-C (or SIGTERM) stops accepting, closes WebSocket connections with 1001, writes out the recordings and prints the summary.

            Examples:
              basetap proxy --upstream ws://127.0.0.1:9000
              basetap proxy --listen 127.0.0.1:8080 --upstream ws://10.0.0.5:80 --record session.jsonl --pcap session.pcap
              basetap proxy --upstream ws://localhost:9000 --format jsonl --quiet > violations.jsonl
            """
    )

    @Option(help: ArgumentHelp("Address to listen on (loopback unless you say otherwise).", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("The server to forward to.", valueName: "ws://host:port"))
    var upstream: String

    @Option(help: ArgumentHelp("Record every connection, message and control frame to this JSONL capture.", valueName: "file"))
    var record: String?

    @Option(help: ArgumentHelp("Record both legs' plaintext as TCP/IP packets to this pcap file.", valueName: "file"))
    var pcap: String?

    @Flag(help: "Also print every message as it passes.")
    var logMessages = false

    @Flag(name: .shortAndLong, help: "Print only the summary when stopped.")
    var quiet = false

    @Option(help: "Most client connections at once; more are refused.")
    var maxConnections = 1024

    @Option(help: ArgumentHelp("Largest frame or inflated message inspected, in bytes (larger ones are still relayed).", valueName: "bytes"))
    var maxMessageSize = InflateLimits.defaultMaxSize

    @Option(help: ArgumentHelp("Close connections with no traffic either way for this many seconds.", valueName: "seconds"))
    var idleTimeout: Int?

    @Option(help: ArgumentHelp("Serve Prometheus metrics (connections, messages, bytes, violations by rule, queue depth) on this address.", valueName: "host:port"))
    var metrics: String?

    @Flag(help: "Close a connection with 1008 (naming the rule) when an error-level violation crosses it. The message that broke the rule has already been relayed.")
    var block = false

    @Option(help: "Exit with 1 when a finding of this severity or worse was reported: 'error' or 'warning'.")
    var failOn: Severity = .error

    @OptionGroup var report: ReportOptions
    @OptionGroup var ruleOptions: RuleOptions

    func run() throws {
        var options = ReverseProxy.Options(
            listen: try ProxyTarget(hostPort: listen, defaultPort: nil, flag: "--listen"), upstream: try ProxyTarget(url: upstream))
        options.check = try ruleOptions.checkOptions()
        options.format = report.format
        options.style = report.style(for: .standardOutput)
        options.logMessages = logMessages
        options.quiet = quiet
        options.record = record
        options.pcap = pcap
        options.maxConnections = maxConnections
        options.maxMessageSize = maxMessageSize
        if let idleTimeout {
            guard idleTimeout > 0 else { throw BasetapError.usage("--idle-timeout must be at least 1 second") }
            options.idleTimeout = idleTimeout
        }
        options.block = block
        options.metrics = try metrics.map { try ProxyTarget(hostPort: $0, defaultPort: nil, flag: "--metrics") }
        let proxy = try ReverseProxy(options: options)
        let stop = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            sources.append(source)
        }
        let address = try proxy.start()
        FileHandle.standardError.write(Data("basetap: proxying ws://\(options.listen.host):\(address.port ?? 0) to ws://\(options.upstream.authority) (Ctrl-C to stop)\n".utf8))
        stop.wait()
        let (summary, decoded, recordError) = proxy.stop()
        let text = ViolationFormatter(format: .text, style: Style.auto(for: .standardError)).summary(summary)
        var lines = "basetap: stopped after \(proxy.connectionsAccepted) connections (\(decoded.webSocketConnections) WebSocket)"
        if let record { lines += "; \(proxy.recordsWritten) records written to \(record)" }
        FileHandle.standardError.write(Data((lines + "\n" + text).utf8))
        if let recordError { throw BasetapError.input(place: record ?? pcap ?? "recording", message: recordError) }
        if summary.fails(at: failOn) { throw ExitCode(1) }
    }
}

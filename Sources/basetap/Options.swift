import ArgumentParser
import Foundation
import BasetapKit

extension OutputFormat: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}

enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

/// How findings are printed; shared by every command that reports violations.
struct ReportOptions: ParsableArguments {
    @Option(help: "Output format: 'text' for people (colored on a terminal), 'jsonl' for one JSON violation record per line.")
    var format: OutputFormat = .text

    @Option(help: "Color text output: auto (only on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorChoice = .auto

    func style(for output: OutputFile) -> Style {
        Self.style(color, for: output)
    }

    static func style(_ color: ColorChoice, for output: OutputFile) -> Style {
        switch color {
        case .auto: Style.auto(for: output)
        case .always: Style(enabled: true)
        case .never: Style(enabled: false)
        }
    }
}

/// What is checked and the limits that keep memory bounded; shared by check, proxy, replay and fuzz.
struct RuleOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Report only these rules: comma-separated ids or prefixes (e.g. 'id.syntax,chain').",
            valueName: "list"))
    var rules: String?

    @Option(help: ArgumentHelp(
        "A profile of extension schemas and error codes (JSON or YAML) to check payloads against.", valueName: "file"))
    var profile: String?

    @Option(help: "Deepest JSON nesting read before a message is reported as json.depth.")
    var maxDepth = JSONReader.defaultMaxDepth

    @Option(help: "Requests remembered per connection for the chain.* rules; the oldest are forgotten past it.")
    var maxOpenIds = ChainTracker.defaultLimit

    func checkOptions() throws -> CheckOptions {
        var options = CheckOptions()
        options.rules = try rules.map(CheckOptions.ruleSelection)
        guard maxDepth > 0 else { throw BasetapError.usage("--max-depth must be at least 1") }
        guard maxOpenIds > 0 else { throw BasetapError.usage("--max-open-ids must be at least 1") }
        options.maxDepth = maxDepth
        options.maxOpenIDs = maxOpenIds
        options.profile = try profile.map { try Profile.load(path: $0) }
        return options
    }
}

/// Sizes the peers' bytes may make basetap hold; shared by every command that reads WebSocket traffic.
struct LimitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Largest frame or inflated message inspected, in bytes; past it ws.message-limit or ws.inflate-limit is reported (the proxy still relays it).", valueName: "bytes"))
    var maxMessageSize = InflateLimits.defaultMaxSize

    @Option(help: ArgumentHelp("Largest inflated/compressed ratio of a permessage-deflate message (checked past 1 MiB inflated); past it ws.inflate-limit is reported.", valueName: "ratio"))
    var maxInflateRatio = InflateLimits.defaultMaxRatio

    @Option(help: ArgumentHelp("Most frames one message may be split into; past it ws.fragment-limit is reported and the rest of the message is skipped (the proxy still relays it).", valueName: "frames"))
    var maxFragments = InflateLimits.defaultMaxFragments

    @Option(help: ArgumentHelp("Largest HTTP request or upgrade response head, in bytes; the proxy answers a longer request with 431.", valueName: "bytes"))
    var maxHeaderSize = HTTPHeadReader.defaultMaxHeadSize

    func validate() throws {
        guard maxMessageSize > 0, maxInflateRatio > 0, maxFragments > 0, maxHeaderSize >= 256 else {
            throw ValidationError("--max-message-size, --max-inflate-ratio and --max-fragments must be positive, --max-header-size at least 256")
        }
    }
}

/// Secrets for TLS inside pcap and pcapng captures; shared by every command that reads them.
struct KeyLogOptions: ParsableArguments {
    @Option(name: .customLong("tls-keylog"), help: ArgumentHelp(
        "Decrypt TLS in pcap and pcapng captures with this NSS key log (what SSLKEYLOGFILE or 'basetap proxy --sslkeylog' writes). A pcapng's Decryption Secrets Blocks are used without it.",
        valueName: "file"))
    var tlsKeylog: String?

    func keyLog() throws -> TLSKeyLog {
        try tlsKeylog.map { try TLSKeyLog.load(path: $0) } ?? TLSKeyLog()
    }
}

/// The server a replay or a fuzz run talks to; shared by replay and fuzz.
struct TargetOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The server: a path given here replaces the recorded one.", valueName: "ws[s]://host:port[/path]"))
    var target: String

    @Option(name: .customLong("header"), help: ArgumentHelp(
        "Add a request header, replacing a recorded one of the same name (repeatable), e.g. 'Authorization: Bearer …'.", valueName: "'Name: value'"))
    var headers: [String] = []

    @Option(help: ArgumentHelp("How long to wait for an answer, for the server's close, and for a connection, e.g. 5s, 500ms.", valueName: "duration"))
    var timeout = "5s"

    @Flag(help: "Do not verify the target's certificate (self-signed test servers).")
    var insecure = false

    @Option(help: ArgumentHelp("Also trust these CA certificates (PEM) for a wss target.", valueName: "file"))
    var ca: String?

    func replayOptions() throws -> ReplayOptions {
        let parsed = try ProxyTarget(url: target, flag: "--target")
        var options = ReplayOptions(target: parsed)
        if !parsed.path.isEmpty { options.path = parsed.requestTarget }
        options.headers = try headers.map { line in
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw BasetapError.usage("--header must look like 'Name: value', not '\(line)'")
            }
            return CaptureRecord.Header(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        options.timeout = try DurationFlag.seconds(timeout, flag: "--timeout")
        options.tls = UpstreamTLS(verify: !insecure, caFile: ca)
        return options
    }
}

enum DurationFlag {
    /// Parses `5s`, `500ms`, `2m`, `1h` or a bare number of seconds.
    static func seconds(_ text: String, flag: String) throws -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        let (number, scale) = units.first { text.hasSuffix($0.0) }.map { (text.dropLast($0.0.count), $0.1) } ?? (Substring(text), 1)
        guard let value = Double(number), value > 0, value.isFinite else {
            throw BasetapError.usage("\(flag) must be a duration like 5s, 500ms or 2m, not '\(text)'")
        }
        return value * scale
    }
}

/// How many workers share a capture's connections; shared by `check` and `decode`.
struct JobOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Workers at once, each with its share of the connections (default: one per core). The output is the same whatever the number; standard input and HAR files are read by one.",
        valueName: "n"))
    var jobs: Int?

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    var count: Int { jobs ?? ProcessInfo.processInfo.activeProcessorCount }
}

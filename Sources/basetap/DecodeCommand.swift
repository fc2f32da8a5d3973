import ArgumentParser
import BasetapKit

/// Limits and TLS secrets for reading captures off the wire; shared by decode, check and view.
struct WireOptions: ParsableArguments {
    @OptionGroup var limits: LimitOptions
    @OptionGroup var keys: KeyLogOptions

    @Option(help: ArgumentHelp("Out-of-order TCP bytes buffered per direction before the missing ones are declared a gap.", valueName: "bytes"))
    var maxTcpBuffer = TCPStreamReassembler.defaultMaxPendingBytes

    func pcapOptions() throws -> PcapDecoder.Options {
        guard maxTcpBuffer > 0 else { throw BasetapError.usage("--max-tcp-buffer must be positive") }
        var options = PcapDecoder.Options()
        options.maxFrameSize = limits.maxMessageSize
        options.inflate.maxSize = limits.maxMessageSize
        options.inflate.maxRatio = limits.maxInflateRatio
        options.inflate.maxFragments = limits.maxFragments
        options.maxHeadSize = limits.maxHeaderSize
        options.maxPendingBytes = maxTcpBuffer
        options.tlsKeyLog = try keys.keyLog()
        return options
    }
}

extension DecodeRun.Format: ExpressibleByArgument {}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Turn a pcap, pcapng or HAR capture into a JSONL capture of WebSocket messages, or any capture into a HAR.",
        discussion: """
            Reads classic pcap (either byte order, micro- or nanosecond) and pcapng through libpcap: Ethernet (with VLAN tags), raw IP, Linux cooked (SLL, SLL2) and BSD loopback links; IPv4 and IPv6 with fragments. TCP streams are put back in order; WebSocket connections are found by their HTTP upgrade on any port; frames are reassembled into messages and permessage-deflate is inflated. Each message record lists the frames it came in.

            TLS (wss) is decrypted with the session secrets of an NSS key log (--tls-keylog: what SSLKEYLOGFILE makes browsers and curl write, or 'basetap proxy --sslkeylog'), or of the Decryption Secrets Blocks a pcapng carries (editcap --inject-secrets): TLS 1.3 and TLS 1.2 with AES-GCM or ChaCha20-Poly1305. The summary names what was decrypted and why anything was not.

            A HAR (the browser's DevTools export, "Save all as HAR") is read as its WebSocket entries with their messages. With --format har the output is a HAR that DevTools imports, one entry per connection; JSONL captures can be turned into one too.

            Examples:
              basetap decode session.pcap -o session.jsonl
              basetap decode --conn :8080 big.pcapng > one-server.jsonl
              basetap decode wss.pcapng --tls-keylog keys.log -o session.jsonl
              basetap decode session.pcap --format har -o session.har
              basetap decode devtools-export.har -o session.jsonl

            A damaged or truncated file is decoded up to the damage, which is named on standard error, and the exit code is 1; it is 2 when not a single packet could be read.
            """
    )

    @Argument(help: ArgumentHelp("The pcap, pcapng or HAR file (a JSONL capture with --format har).", valueName: "file"))
    var file: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the capture (default: standard output).", valueName: "file"))
    var output = "-"

    @Option(help: ArgumentHelp("What to write: jsonl (the capture format) or har (HTTP Archive 1.2, for DevTools).", valueName: "format"))
    var format = DecodeRun.Format.jsonl

    @Option(help: ArgumentHelp("Keep only connections whose id (client>server) contains this text.", valueName: "filter"))
    var conn: String?

    @Option(help: ArgumentHelp("Keep only the messages that match, e.g. 'dir:c2s type:chat.*' or 'severity:error' (the filter language of the README); open, end and control frames stay.", valueName: "filter"))
    var filter: String?

    @OptionGroup var wire: WireOptions
    @OptionGroup var ruleOptions: RuleOptions
    @OptionGroup var jobs: JobOptions

    func run() throws {
        var run = DecodeRun(path: file)
        run.jobs = jobs.count
        run.output = output
        run.format = format
        run.connFilter = conn
        do {
            run.filter = try filter.map { try MessageFilter($0) }
        } catch {
            throw BasetapError.usage("--filter '\(filter!)': \(error)")
        }
        run.check = try ruleOptions.checkOptions()
        run.options = try wire.pcapOptions()
        if OutputFile.standardError.isTerminal { run.progress = .standardError }
        // A damaged file was decoded up to the damage: the output is kept, the exit code says so.
        if try run.run().truncation != nil { throw ExitCode(1) }
    }
}

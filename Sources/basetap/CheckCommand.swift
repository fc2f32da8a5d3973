import Foundation
import ArgumentParser
import BasetapKit

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check captures against the Protocol Core rules and print every violation.",
        discussion: """
            Reads JSONL captures (basetap's capture format, described in the README) and pcap/pcapng files, told apart by content; pcap files are decoded as 'basetap decode' does and also checked for RFC 6455 and TCP problems (ws.*, tcp.*). Each message is checked for JSON problems, the BaseMessage envelope, Entity IDs in 'from' and 'to', the ':error' convention, and the request/response chain of its connection. 'basetap rules' lists every rule with its severity.

            Examples:
              basetap check session.jsonl
              basetap check --format jsonl --fail-on warning a.jsonl b.jsonl
              cat session.jsonl | basetap check --rules id,envelope -
              basetap check wss.pcap --tls-keylog keys.log
              basetap check --jobs 8 archive.jsonl
            """
    )

    @Argument(help: ArgumentHelp("Capture files to check; '-' reads standard input.", valueName: "file"))
    var files: [String]

    @OptionGroup var report: ReportOptions
    @OptionGroup var ruleOptions: RuleOptions
    @OptionGroup var wire: WireOptions

    @Option(help: "Exit with 1 when a finding of this severity or worse is reported: 'error' or 'warning'.")
    var failOn: Severity = .error

    @Flag(help: "Count malformed capture lines and go on, instead of stopping at the first one.")
    var skipBadLines = false

    @Option(help: ArgumentHelp("Report only the violations of messages that match, e.g. 'dir:s2c type:chat.*' or 'rule:id.* /to == #general*' (the filter language of the README; the summary counts what was reported).", valueName: "filter"))
    var filter: String?

    @Flag(name: .shortAndLong, help: "Print only the summary.")
    var quiet = false

    @OptionGroup var jobs: JobOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one capture file, or '-' for standard input") }
    }

    func run() throws {
        var run = CheckRun(paths: files)
        run.options = try ruleOptions.checkOptions()
        run.pcapOptions = try wire.pcapOptions()
        run.format = report.format
        run.style = report.style(for: .standardOutput)
        run.skipBadLines = skipBadLines
        run.quiet = quiet
        run.jobs = jobs.count
        do {
            run.filter = try filter.map { try MessageFilter($0) }
        } catch {
            throw BasetapError.usage("--filter '\(filter!)': \(error)")
        }
        if OutputFile.standardError.isTerminal { run.progress = .standardError }
        let summary = try run.run()
        if summary.fails(at: failOn) { throw ExitCode(1) }
    }
}

import ArgumentParser
import BasetapKit
import Foundation

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run a recorded session's client side against a server again and show how the answers changed.",
        discussion: """
            For each recorded connection basetap opens a new one to --target with the recorded path, subprotocols, extensions and headers (Host, Sec-WebSocket-Key and other per-connection headers are made anew; --header adds or replaces), sends the client's messages and pings in order, answers the server's pings, waits for the recorded answers, and closes as the recording did.

            The server's answers are paired with the recorded ones by request id and compared: missing and extra answers, a changed type or ok, other changes by JSON pointer, messages the server sends on its own (counted by type), and the close code. The new session is checked like any capture (violations are shown) and can be recorded. Findings saved by 'basetap fuzz' are captures too.

            A finding saved by 'basetap fuzz' is a regression test: replay says 'reproduced: ORACLE, as found' and exits 1 while the server still fails that way, and 'no longer reproduces' with exit 0 once it does not (a crash reproduces when the server no longer accepts connections afterwards).

            Exit codes: 0 same answers (or a finding that no longer reproduces), 1 differences (or a finding that reproduces), 2 usage errors or an unreachable target.

            Examples:
              basetap replay session.jsonl --target ws://127.0.0.1:9000
              basetap replay session.pcap --target wss://staging.example.org/ws --header 'Authorization: Bearer abc' --ignore-volatile
              basetap replay session.jsonl --target ws://127.0.0.1:9000 --pace fast --wait-answers --format jsonl
            """
    )

    @Argument(help: "The capture to replay: JSONL, pcap or pcapng.")
    var capture: String

    @OptionGroup var targetOptions: TargetOptions
    @OptionGroup var keys: KeyLogOptions

    @Option(name: .customLong("conn"), help: ArgumentHelp("Replay only this recorded connection, e.g. c2, or every connection with a message the filter matches, e.g. 'type:chat.*' or 'severity:error' (the filter language of the README). Repeatable.", valueName: "id|filter"))
    var conns: [String] = []

    @Option(help: ArgumentHelp("'recorded' (the recorded gaps), 'fast' (no gaps), or xN (N times the recorded speed).", valueName: "pace"))
    var pace = "recorded"

    @Flag(help: "Before each send, wait for the answer to the previous request (up to --timeout).")
    var waitAnswers = false

    @Option(help: "Connections replayed at once.")
    var parallel = 1

    @Option(name: .customLong("ignore"), help: ArgumentHelp(
        "Do not compare at this JSON pointer (repeatable; '*' matches one segment), e.g. /payload/ts.", valueName: "pointer"))
    var ignore: [String] = []

    @Flag(help: "Treat values that differ by nature as equal when their shape matches: UUIDs, timestamps, long numbers and hex, epoch times.")
    var ignoreVolatile = false

    @Option(help: ArgumentHelp("Record the new session to this JSONL capture.", valueName: "file"))
    var record: String?

    @OptionGroup var report: ReportOptions
    @OptionGroup var ruleOptions: RuleOptions

    func run() throws {
        guard parallel > 0 else { throw BasetapError.usage("--parallel must be at least 1") }
        for pointer in ignore where !pointer.hasPrefix("/") {
            throw BasetapError.usage("--ignore takes a JSON pointer starting with '/', not '\(pointer)'")
        }
        var options = try targetOptions.replayOptions()
        options.pace = try ReplayOptions.pace(pace)
        options.waitAnswers = waitAnswers
        var run = ReplayRun(capture: capture, options: options)
        run.conns = ConnectionChoice(conns)
        run.pcapOptions.tlsKeyLog = try keys.keyLog()
        run.parallel = parallel
        run.record = record
        run.diff = SessionDiff(ignore: ignore, ignoreVolatile: ignoreVolatile)
        run.check = try ruleOptions.checkOptions()
        run.format = report.format
        run.style = report.style(for: .standardOutput)
        run.progress = OutputFile.standardError.isTerminal ? .standardError : nil
        let summary = try run.run()
        if summary.findings > 0 ? summary.reproduced > 0 : summary.differences > 0 { throw ExitCode(1) }
    }
}

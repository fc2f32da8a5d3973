import ArgumentParser
import BasetapKit
import Foundation

extension MutationOperator.Family: ExpressibleByArgument {}

struct Fuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Send mutated versions of a recorded session to a server and save what breaks it.",
        discussion: """
            Each case is one recorded connection with one thing broken by a named operator: a client message (entity IDs, envelope, values, JSON syntax, frames, payload schemas with --profile), the order of its messages (session), its upgrade request (handshake: missing or wrong key and version, other methods, HTTP/1.0, huge or duplicated headers, odd paths, bad subprotocol and extension offers), or the connections around it (churn: storms of short connections, closes in the middle of a message, parallel connections reusing ids; loopback targets only). Each case ends with an unmutated probe request whose recorded answer was clean.

            Before fuzzing, each seed connection runs unmutated a few times: one that already fails is reported once (a 'baseline' finding, with a warning at start), and its symptoms are not blamed on any operator. A case is a finding when the server crashes or exits (--exec), stops accepting connections, drops the connection without a closing handshake, closes with 1011, leaves the probe unanswered (hang: no answer within --timeout, nor on a run again with twice that and at least 4 s more), answers with a rule violation, or answers the probe far slower than unmutated. Findings are grouped by what the server did (the oracle, the rules broken, the close code, the crash signature), not by operator: each is confirmed by a run on its own, checked against its connection without the mutation, minimized, and saved to DIR/findings/NNN-ORACLE-OPERATOR.jsonl; DIR/report.md lists them most severe first with the operators and message types that reached them. With --exec every death of the server is a finding, with its crash output: one that no case causes alone is 'crash-unconfirmed', saved with the cases that were open and how often running them together brings it back. Mutants that make the server answer in a new way are kept as seeds.

            Replaying a finding is a regression test: 'basetap replay FINDING --target ...' exits 1 while the failure reproduces and 0 once it no longer does. Only fuzz servers you own: loopback or your own test hosts.

            Exit codes: 0 nothing found, 1 findings, 2 usage errors or an unreachable target.

            Examples:
              basetap fuzz --target ws://127.0.0.1:9000 --seed-capture session.jsonl --max-messages 20000
              basetap fuzz --target ws://127.0.0.1:9000 --seed-capture session.jsonl --exec './my-server --port 9000' --duration 5m --out findings
              basetap fuzz --target ws://127.0.0.1:9000 --seed-capture session.jsonl --profile chat.yaml --families schema,envelope
            """
    )

    @OptionGroup var targetOptions: TargetOptions

    @Option(help: ArgumentHelp("The recorded session to mutate (JSONL, pcap or pcapng).", valueName: "capture"))
    var seedCapture: String

    @Option(help: "Seed of the run: the same seed makes the same cases.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Stop after this long, e.g. 30s, 5m (default: 1m unless --max-messages).", valueName: "duration"))
    var duration: String?

    @Option(help: ArgumentHelp("Stop after this many messages sent.", valueName: "n"))
    var maxMessages: Int?

    @Option(help: ArgumentHelp("Where findings and report.md go.", valueName: "dir"))
    var out = "fuzz-out"

    @Option(help: "Cases run at once (each one connection, or more for churn). A case that hangs holds one until --timeout.")
    var workers = 16

    @Option(help: ArgumentHelp("Run shard K of N (cases K, K+N, K+2N…), to split one seed over N processes.", valueName: "K/N"))
    var shard = "1/1"

    @Option(help: ArgumentHelp("Start the server with this shell command, restart it after each death, and keep its crash output for the report.", valueName: "command"))
    var exec: String?

    @Option(help: ArgumentHelp("Only these operator families, comma-separated: id, envelope, value, json, frame, session, schema, handshake, churn.", valueName: "list"))
    var families: String?

    @Flag(help: "Save findings as found, without minimizing them.")
    var noMinimize = false

    @OptionGroup var ruleOptions: RuleOptions

    @Option(help: "Color: auto, always or never.")
    var color: ColorChoice = .auto

    func run() throws {
        guard workers > 0 else { throw BasetapError.usage("--workers must be at least 1") }
        let parts = shard.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) else {
            throw BasetapError.usage("--shard must be K/N with 1 <= K <= N, not '\(shard)'")
        }
        var run = FuzzRun(seedCapture: seedCapture, options: try targetOptions.replayOptions())
        run.seed = seed
        run.maxMessages = maxMessages
        run.duration = try duration.map { try DurationFlag.seconds($0, flag: "--duration") } ?? (maxMessages == nil ? 60 : nil)
        run.outDirectory = out
        run.workers = workers
        run.shard = (parts[0], parts[1])
        run.exec = exec
        run.check = try ruleOptions.checkOptions()
        run.profile = run.check.profile
        run.families = try families.map(Self.families)
        run.minimize = !noMinimize
        run.style = ReportOptions.style(color, for: .standardOutput)
        run.progress = OutputFile.standardError.isTerminal ? .standardError : nil
        let summary = try run.run()
        if !summary.findings.isEmpty { throw ExitCode(1) }
    }

    static func families(_ list: String) throws -> Set<MutationOperator.Family> {
        Set(try list.split(separator: ",").map { name in
            guard let family = MutationOperator.Family(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                let known = MutationOperator.Family.allCases.map(\.rawValue).joined(separator: ", ")
                throw BasetapError.usage("--families: unknown family '\(name)' (\(known))")
            }
            return family
        })
    }
}

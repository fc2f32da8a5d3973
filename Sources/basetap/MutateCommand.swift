import ArgumentParser
import BasetapKit

struct Mutate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mutate",
        abstract: "Write mutated variants of a capture's client messages, offline, as a capture.",
        discussion: """
            The cases 'basetap fuzz' would send for the same seed, written instead of sent: one connection per variant (m1, m2…) with the recorded upgrade, the client's messages, and each changed message marked with "mutation": {"seed": …, "ops": […]}. Send them with 'basetap replay'.

            Examples:
              basetap mutate session.jsonl --seed 7 --count 100 -o variants.jsonl
              basetap mutate session.jsonl --families id,envelope --count 20 | basetap check -
            """
    )

    @Argument(help: "The recorded session (JSONL, pcap or pcapng).")
    var capture: String

    @Option(help: "Seed: the same seed makes the same variants.")
    var seed: UInt64 = 1

    @Option(help: "How many variants.")
    var count = 10

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write them ('-' for standard output).", valueName: "file"))
    var output = "-"

    @Option(help: ArgumentHelp("Only these operator families, comma-separated: id, envelope, value, json, frame, session, schema.", valueName: "list"))
    var families: String?

    @Option(help: ArgumentHelp("A profile, for the schema family's values that just pass and just fail.", valueName: "file"))
    var profile: String?

    func run() throws {
        guard count > 0 else { throw BasetapError.usage("--count must be at least 1") }
        var run = MutateRun(capture: capture)
        run.seed = seed
        run.count = count
        run.output = output
        run.profile = try profile.map { try Profile.load(path: $0) }
        run.families = try families.map(Fuzz.families)
        try run.run()
    }
}

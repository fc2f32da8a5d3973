import ArgumentParser
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

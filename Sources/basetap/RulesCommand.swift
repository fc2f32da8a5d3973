import ArgumentParser
import BasetapKit

enum RulesFormat: String, ExpressibleByArgument, CaseIterable {
    case text, markdown, jsonl
}

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List the rules basetap checks, with their ids and severities.",
        discussion: "The README's rules table is this command's markdown output."
    )

    @Option(help: "text, markdown (the README table) or jsonl.")
    var format: RulesFormat = .text

    func run() throws {
        switch format {
        case .text: print(RuleTable.text(), terminator: "")
        case .markdown: print(RuleTable.markdown(), terminator: "")
        case .jsonl: print(RuleTable.jsonl(), terminator: "")
        }
    }
}

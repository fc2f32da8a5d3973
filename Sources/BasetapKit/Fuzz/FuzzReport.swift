import Foundation

/// `report.md` of a fuzz run: one section per symptom, most severe first, each saying how sure it
/// is (confirmed, how often it came back), which operators and message types got there, and, for a
/// server that died, its crash output.
struct FuzzReport {
    let run: FuzzRun
    let options: ReplayOptions
    let summary: FuzzRun.Summary
    let stopped: String?

    /// Lines of a crash output quoted in the report; the whole output is in the finding's `.log` file.
    static let quotedLines = 60

    func write() throws {
        var text = "# basetap fuzz report\n\n"
        text += "- target: `\(options.target.url)`\n- seed capture: `\(run.seedCapture)`\n- seed: \(run.seed)"
        if run.shard.count > 1 { text += " (shard \(run.shard.index)/\(run.shard.count))" }
        text += "\n- \(summary.cases) connections, \(summary.messagesSent) messages in \(String(format: "%.1f", summary.seconds)) s; "
        text += "\(summary.behaviours) distinct answers seen, \(summary.learnedSeeds) mutants kept as seeds\n"
        if let exec = run.exec { text += "- server: `\(exec)` (restarted \(summary.restarts) times)\n" }
        if let stopped { text += "- stopped early: \(stopped)\n" }
        for warning in summary.warnings { text += "- warning: \(warning)\n" }
        let findings = summary.findings.sorted { ($0.failure.kind.rank, $0.number) < ($1.failure.kind.rank, $1.number) }
        text += "\n| # | what the server did | sure? | cases | operators | message types | capture |\n|---|---|---|---|---|---|---|\n"
        for finding in findings {
            // A crash no case causes alone is unconfirmed by its kind: its cell says how often the
            // cases together brought it back.
            let sure = finding.failure.kind == .crashUnconfirmed ? finding.reproduction
                : "\(finding.confirmed ? "confirmed" : "unconfirmed"): \(finding.reproduction)"
            text += "| \(finding.number) | **\(finding.failure.kind.rawValue)**: \(Self.cell(finding.failure.detail)) | \(sure) | \(finding.cases) "
            text += "| \(Self.counts(finding.operators)) | \(Self.counts(finding.types)) | [\(finding.file)](\(finding.file)) |\n"
        }
        if findings.isEmpty { text += "| | no findings | | | | | |\n" }
        for finding in findings {
            guard let death = finding.death else { continue }
            text += "\n## \(finding.number): \(finding.failure.kind.rawValue), the server \(death.exit)\n\n"
            if let line = death.crashLine { text += "First crash line: `\(line)`\n\n" }
            let lines = death.output.split(separator: "\n", omittingEmptySubsequences: false)
            text += "```\n" + lines.prefix(Self.quotedLines).joined(separator: "\n") + "\n```\n"
            if lines.count > Self.quotedLines, let file = finding.outputFile {
                text += "\n(\(lines.count - Self.quotedLines) more lines in [\(file)](\(file)).)\n"
            }
        }
        text += "\nEach capture is a regression test: `basetap replay \(run.outDirectory)/FILE --target \(options.target.url)` says whether the failure "
        text += "still happens (exit 1) or no longer does (exit 0).\n"
        do {
            try text.write(toFile: run.outDirectory + "/report.md", atomically: true, encoding: .utf8)
        } catch {
            throw BasetapError.input(place: run.outDirectory + "/report.md", message: "cannot write: \(error.localizedDescription)")
        }
    }

    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    /// `id.port ×12, envelope.drop ×3`, most first.
    static func counts(_ counts: [String: Int]) -> String {
        guard !counts.isEmpty else { return "none (unmutated)" }
        return counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "`\($0.key)` ×\($0.value)" }.joined(separator: ", ")
    }
}

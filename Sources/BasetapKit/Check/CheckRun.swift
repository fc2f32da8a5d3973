import Foundation

/// `basetap check`: reads captures, checks them, prints findings and the summary.
/// The command-line tool and the tests both drive it through here.
public struct CheckRun {
    public var paths: [String]
    public var options = CheckOptions()
    public var format = OutputFormat.text
    public var style = Style(enabled: false)
    public var skipBadLines = false
    /// Print only the summary.
    public var quiet = false
    public var output: OutputFile
    public var messages: OutputFile
    /// A progress line on this terminal while a large capture is read.
    public var progress: OutputFile?

    public init(paths: [String], output: OutputFile = .standardOutput, messages: OutputFile = .standardError) {
        self.paths = paths
        self.output = output
        self.messages = messages
    }

    /// Checks every capture; findings go to `output`, the summary to `output` (text) or `messages` (jsonl).
    public func run() throws -> CheckSummary {
        let formatter = ViolationFormatter(format: format, style: style)
        let output = self.output
        let quiet = self.quiet
        var checker = CaptureChecker(options: options) { violation in
            if !quiet { try output.append { formatter.append(violation, into: &$0) } }
        }
        var badLines = 0
        for path in paths {
            switch try CaptureFileKind.detect(path: path) {
            case .jsonl:
                let reader = try JSONLCaptureReader(path: path)
                reader.skipBadLines = skipBadLines
                let meter = progress.map { ProgressMeter(output: $0, label: "checking \(path)", total: Self.size(of: path)) }
                var messageCount = 0
                try reader.forEach(progress: { meter?.update(done: $0, detail: "\(messageCount) messages") }) { line in
                    try checker.consume(line)
                    messageCount = checker.summary.messages
                }
                meter?.finish()
                badLines += reader.badLines
                if let first = reader.firstBadLine {
                    try messages.write("basetap: skipped \(reader.badLines) malformed lines; first: \(first)\n")
                }
            case .pcap, .pcapng:
                throw BasetapError.input(
                    place: path, message: "pcap and pcapng captures cannot be checked yet; decode them with a tool that writes basetap JSONL")
            }
        }
        checker.finish()
        var summary = checker.summary
        summary.badLines = badLines
        try output.flush()
        let summaryText = formatter.summary(summary)
        if format == .text {
            try output.write(summaryText)
            try output.flush()
        } else {
            try messages.write(ViolationFormatter(format: .text, style: Style.auto(for: messages)).summary(summary))
            try messages.flush()
        }
        return summary
    }

    static func size(of path: String) -> Int? {
        guard path != "-", let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return (attributes[.size] as? NSNumber)?.intValue
    }
}

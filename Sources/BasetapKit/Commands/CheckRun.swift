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
    /// Limits for reading pcap files.
    public var pcapOptions = PcapDecoder.Options()
    /// Report (and count) only the violations of messages that match (`--filter`).
    public var filter: MessageFilter?
    /// Checkers working at once, each on its share of the connections (`--jobs`).
    public var jobs = 1

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
        let print: (Violation) throws -> Void = { violation in
            if !quiet { try output.append { formatter.append(violation, into: &$0) } }
        }
        // The workers read a JSONL file at offsets, each its share of a block: only a regular file
        // can be read so (not standard input, a pipe or a process substitution).
        if jobs > 1, try paths.allSatisfy({ try CaptureFileKind.isRegularFile($0) && CaptureFileKind.detect(path: $0) == .jsonl }) {
            let parallel = ParallelCheck(jobs: jobs, options: options, filter: filter, formatter: formatter, quiet: quiet, skipBadLines: skipBadLines)
            let outcome = try parallel.run(paths, output: output, progress: progress, messages: messages)
            try output.flush()
            return try finish(outcome, pcapSummaries: [], formatter: formatter)
        }
        if jobs > 1, try paths.allSatisfy({ try CaptureFileKind.isRegularFile($0) && [.pcap, .pcapng].contains(CaptureFileKind.detect(path: $0)) }) {
            return try checkPcapsInParallel(formatter: formatter)
        }
        var (checker, selection) = FilteredViolations.checker(options: options, filter: filter, report: print)
        var badLines = 0
        var pcapSummaries: [DecodeSummary] = []
        for path in paths {
            switch try CaptureFileKind.detect(path: path) {
            case .jsonl:
                let reader = try JSONLCaptureReader(path: path)
                reader.malformed = MalformedLines(skip: skipBadLines)
                let meter = progress.map { ProgressMeter(output: $0, label: "checking \(path)", total: Self.size(of: path)) }
                var messageCount = 0
                try reader.forEach(progress: { meter?.update(done: $0, detail: "\(messageCount) messages") }) { line in
                    try checker.consume(line)
                    if let selection { try selection.checked(try line.record()) }
                    messageCount = checker.summary.messages
                }
                meter?.finish()
                badLines += reader.malformed.count
                if let notice = reader.malformed.notice { try messages.write(notice) }
            case .har:
                let har = try HARReader.read(path: path)
                for record in har.records {
                    try checker.consume(record)
                    try selection?.checked(record)
                }
                if har.records.isEmpty {
                    try messages.write("basetap: \(path): no WebSocket session among its \(har.otherEntries == 1 ? "1 entry" : "\(har.otherEntries) entries")\n")
                }
            case .pcap, .pcapng:
                let sink = CheckingSink(checker: checker, selection: selection)
                let meter = progress.map { ProgressMeter(output: $0, label: "checking \(path)", total: nil) }
                let decoded = try PcapDecoder(sink: sink, options: pcapOptions).decode(path: path) { packets in
                    meter?.update(done: packets, detail: "\(sink.checker.summary.messages) messages")
                }
                meter?.finish()
                checker = sink.checker
                try checked(decoded, into: &pcapSummaries)
            }
        }
        checker.finish()
        var summary = selection?.summary(checker.summary) ?? checker.summary
        summary.badLines = badLines
        summary.damagedFiles = pcapSummaries.filter { $0.truncation != nil }.count
        try output.flush()
        return try finish(summary, pcapSummaries: pcapSummaries, formatter: formatter)
    }

    private func checked(_ decoded: DecodeSummary, into pcapSummaries: inout [DecodeSummary]) throws {
        if let truncation = decoded.truncation {
            try messages.write("basetap: \(truncation); what came before was checked\n")
        }
        pcapSummaries.append(decoded)
    }

    /// Pcap and pcapng files with `jobs` checkers, each on its share of the connections; the
    /// output is what one checker writes.
    private func checkPcapsInParallel(formatter: ViolationFormatter) throws -> CheckSummary {
        let outputs = (0..<jobs).map { _ in ParallelPcap.Output() }
        let quiet = self.quiet
        let sinks = outputs.map { out in
            let (checker, selection) = FilteredViolations.checker(options: options, filter: filter) { violation in
                if !quiet { formatter.append(violation, into: &out.bytes) }
            }
            return CheckingSink(checker: checker, selection: selection)
        }
        var pcapSummaries: [DecodeSummary] = []
        var meter: (path: String, meter: ProgressMeter)?
        try ParallelPcap(options: pcapOptions, sinks: sinks, outputs: outputs).run(
            paths, write: { bytes in try output.append { $0.append(contentsOf: bytes) } },
            progress: { path, packets in
                guard let progress else { return }
                if meter?.path != path { meter = (path, ProgressMeter(output: progress, label: "checking \(path)", total: nil)) }
                meter?.meter.update(done: packets, detail: "\(sinks.reduce(0) { $0 + $1.checker.summary.messages }) messages")
            },
            done: { _, decoded in
                meter?.meter.finish()
                meter = nil
                try checked(decoded, into: &pcapSummaries)
            })
        var summary = sinks.reduce(CheckSummary()) { sum, sink in
            sink.checker.finish()
            return sum + (sink.selection?.summary(sink.checker.summary) ?? sink.checker.summary)
        }
        summary.damagedFiles = pcapSummaries.filter { $0.truncation != nil }.count
        try output.flush()
        return try finish(summary, pcapSummaries: pcapSummaries, formatter: formatter)
    }

    /// What the pcap files held that was not checked, and the summary.
    private func finish(_ summary: CheckSummary, pcapSummaries: [DecodeSummary], formatter: ViolationFormatter) throws -> CheckSummary {
        for decoded in pcapSummaries where decoded.leftSomethingOut {
            try messages.write("basetap: \(DecodeRun.describe(decoded))\n")
        }
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

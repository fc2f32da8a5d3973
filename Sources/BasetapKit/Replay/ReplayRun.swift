import Foundation

/// `basetap replay`: plays a capture's client side against a server again, compares the answers
/// with the recorded ones, checks the new session, and optionally records it.
public struct ReplayRun {
    public var capture: String
    public var options: ReplayOptions
    /// Replay only these recorded connections (all when empty).
    public var conns: [String] = []
    public var parallel = 1
    public var record: String?
    public var diff = SessionDiff()
    public var check = CheckOptions()
    public var format = OutputFormat.text
    public var style = Style(enabled: false)
    public var output: OutputFile
    public var messages: OutputFile
    public var progress: OutputFile?

    public init(capture: String, options: ReplayOptions, output: OutputFile = .standardOutput, messages: OutputFile = .standardError) {
        self.capture = capture
        self.options = options
        self.output = output
        self.messages = messages
    }

    public struct Summary: Sendable {
        public var connections = 0
        public var messagesSent = 0
        public var differences = 0
        public var connectionsDiffering = 0
        public var check = CheckSummary()
    }

    public func run() throws -> Summary {
        let plans = ReplayConnection.plan(try CaptureFile.records(path: capture), only: conns)
        guard !plans.isEmpty else {
            let which = conns.isEmpty ? "" : " among \(conns.joined(separator: ", "))"
            throw BasetapError.input(place: capture, message: "no WebSocket connection to replay\(which) (no 'open' record)")
        }
        let writer = try record.map { try JSONLCaptureWriter(path: $0) }
        let replayer = try Replayer(options: options)
        let meter = progress.map { ProgressMeter(output: $0, label: "replaying \(capture)", total: nil) }
        let outcomes = replayer.run(plans, parallel: parallel) { done in meter?.update(done: done, detail: "\(done) of \(plans.count) connections") }
        meter?.finish()
        if outcomes.allSatisfy(\.unreachable), let failure = outcomes.first?.failure {
            try? writer?.close()
            throw BasetapError.input(place: options.target.url, message: failure)
        }
        let formatter = ViolationFormatter(format: format, style: style)
        var lines: [UInt8] = []
        var checker = CaptureChecker(options: check) { violation in formatter.append(violation, into: &lines) }
        var summary = Summary()
        for (plan, outcome) in zip(plans, outcomes) {
            let differences = diff.compare(recorded: plan.recorded, replayed: outcome)
            for record in outcome.records {
                try checker.consume(record)
                try writer?.write(record)
            }
            for finding in outcome.wire {
                try checker.reportWire(conn: outcome.conn, dir: finding.dir, rule: finding.rule, message: finding.message, offset: finding.offset)
            }
            summary.connections += 1
            summary.messagesSent += outcome.messagesSent
            summary.differences += differences.count
            if !differences.isEmpty { summary.connectionsDiffering += 1 }
            try output.append { out in
                appendDifferences(differences, plan: plan, outcome: outcome, into: &out)
                out += lines
            }
            lines.removeAll()
        }
        checker.finish()
        try? output.append { $0 += lines }
        summary.check = checker.summary
        try writer?.close()
        let text = describe(summary)
        if format == .text { try output.write(text) } else { try messages.write(text) }
        try output.flush()
        try messages.flush()
        return summary
    }

    private func appendDifferences(_ differences: [Difference], plan: ReplayConnection, outcome: ReplayOutcome, into out: inout [UInt8]) {
        switch format {
        case .jsonl:
            for difference in differences { Self.appendJSON(difference, into: &out) }
        case .text:
            let verdict = differences.isEmpty ? style.green("same answers") : style.red(ViolationFormatter.count(differences.count, "difference"))
            out += Array("\(style.bold(plan.conn)) \(options.path ?? plan.url): \(outcome.messagesSent) sent, \(verdict)\n".utf8)
            for difference in differences {
                var where_ = difference.id.map { "id \($0)" } ?? ""
                if let type = difference.type { where_ += where_.isEmpty ? type : " (\(type))" }
                let label = style.cyan(difference.kind.rawValue)
                out += Array("  \(label) \(where_.isEmpty ? "" : where_ + ": ")\(difference.detail)\n".utf8)
            }
        }
    }

    /// One JSONL record per difference; `recorded` and `now` are JSON values, absent when absent.
    static func appendJSON(_ difference: Difference, into out: inout [UInt8]) {
        out += Array(#"{"conn":"#.utf8)
        JSONString.encode(difference.conn, into: &out)
        out += Array(#","diff":""#.utf8) + Array(difference.kind.rawValue.utf8) + [UInt8(ascii: "\"")]
        for (key, value) in [("id", difference.id), ("type", difference.type), ("pointer", difference.pointer)] {
            guard let value else { continue }
            out += Array(",\"\(key)\":".utf8)
            JSONString.encode(value, into: &out)
        }
        for (key, value) in [("recorded", difference.recorded), ("now", difference.now)] {
            guard let value else { continue }
            out += Array(",\"\(key)\":\(value)".utf8)
        }
        out += Array(#","detail":"#.utf8)
        JSONString.encode(difference.detail, into: &out)
        out += Array("}\n".utf8)
    }

    private func describe(_ s: Summary) -> String {
        let count = ViolationFormatter.count
        var text = "\(style.bold("Replayed")) \(count(s.connections, "connection")) against \(options.target.url): \(count(s.messagesSent, "message")) sent, "
        text += s.differences == 0
            ? style.green("answers as recorded") + ".\n"
            : style.red("\(count(s.differences, "difference")) in \(count(s.connectionsDiffering, "connection"))") + ".\n"
        return text + ViolationFormatter(format: .text, style: style).summary(s.check)
    }
}

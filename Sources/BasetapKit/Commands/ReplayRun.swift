import Foundation

/// `basetap replay`: plays a capture's client side against a server again, compares the answers
/// with the recorded ones, checks the new session, and optionally records it.
public struct ReplayRun {
    public var capture: String
    public var options: ReplayOptions
    /// Replay only these recorded connections (all when empty).
    public var conns = ConnectionChoice([])
    public var parallel = 1
    public var record: String?
    /// How a pcap or pcapng capture is read (its TLS key log).
    public var pcapOptions = PcapDecoder.Options()
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
        /// Connections that are fuzz findings, and how many of them still fail as found.
        public var findings = 0
        public var reproduced = 0
    }

    /// Whether a finding's failure came back.
    struct Verdict {
        var reproduced: Bool
        var detail: String
    }

    public func run() throws -> Summary {
        let records = try CaptureFile.records(path: capture, options: pcapOptions)
        let plans = ReplayConnection.plan(records, only: try conns.ids(in: records, check: check))
        guard !plans.isEmpty else {
            let which = conns.values.isEmpty ? "" : " chosen by --conn \(conns.values.map { "'\($0)'" }.joined(separator: ", "))"
            throw BasetapError.input(place: capture, message: "no WebSocket connection to replay\(which) (no 'open' record)")
        }
        let writer = try record.map { try JSONLCaptureWriter(path: $0) }
        // A fuzz finding is replayed as the fuzzer ran it: a connection given up once the probe times
        // out, and the connections of one finding all at once.
        let findings = plans.contains { $0.finding != nil }
        var options = self.options
        if findings { options.abandonUnanswered = true }
        let replayer = try Replayer(options: options)
        let meter = progress.map { ProgressMeter(output: $0, label: "replaying \(capture)", total: nil) }
        let outcomes = replayer.run(plans, parallel: findings ? plans.count : parallel) { done in meter?.update(done: done, detail: "\(done) of \(plans.count) connections") }
        meter?.finish()
        if outcomes.allSatisfy(\.unreachable), let failure = outcomes.first?.failure {
            try? writer?.close()
            throw BasetapError.input(place: options.target.url, message: failure)
        }
        let formatter = ViolationFormatter(format: format, style: style)
        var lines: [UInt8] = []
        var checker = CaptureChecker(options: check) { violation in formatter.append(violation, into: &lines) }
        var summary = Summary()
        let verdicts = findings ? Self.verdicts(plans, outcomes, replayer: replayer, oracle: Oracle(check: check, slowAfter: Int64(options.timeout * 0.5e9))) : []
        for (n, (plan, outcome)) in zip(plans, outcomes).enumerated() {
            let verdict = verdicts.isEmpty ? nil : verdicts[n]
            let differences = plan.finding == nil ? diff.compare(recorded: plan.recorded, replayed: outcome) : []
            if let verdict {
                summary.findings += 1
                if verdict.reproduced { summary.reproduced += 1 }
            }
            try outcome.check(with: &checker) { try writer?.write($0) }
            summary.connections += 1
            summary.messagesSent += outcome.messagesSent
            summary.differences += differences.count
            if !differences.isEmpty { summary.connectionsDiffering += 1 }
            try output.append { out in
                if let verdict, let finding = plan.finding {
                    appendVerdict(verdict, finding: finding, plan: plan, outcome: outcome, into: &out)
                } else if plan.finding == nil {
                    appendDifferences(differences, plan: plan, outcome: outcome, into: &out)
                }
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

    /// For each finding (its connections share one mark; the verdict stands at the first of them):
    /// did it fail the way it was found? A crash (or a server that stopped accepting) reproduces
    /// when the server no longer completes an upgrade afterwards; any other failure when one of the
    /// finding's connections shows the same symptom again.
    static func verdicts(_ plans: [ReplayConnection], _ outcomes: [ReplayOutcome], replayer: Replayer, oracle: Oracle) -> [Verdict?] {
        let isDeath = { (finding: CaptureRecord.FindingMark) in Oracle.isDeath(finding.symptom) }
        let alive = plans.contains { $0.finding.map(isDeath) ?? false } ? stillAnswers(replayer, plans[0]) : true
        var verdicts = [Verdict?](repeating: nil, count: plans.count)
        var first: [CaptureRecord.FindingMark: Int] = [:]
        for (n, plan) in plans.enumerated() {
            guard let finding = plan.finding else { continue }
            let at = first[finding] ?? n
            first[finding] = at
            if isDeath(finding) {
                verdicts[at] = alive ? Verdict(reproduced: false, detail: "the server still accepts connections after it")
                    : Verdict(reproduced: true, detail: "the server no longer accepts connections after it")
                continue
            }
            guard verdicts[at]?.reproduced != true else { continue }
            let now = oracle.judge(outcomes[n], handshake: plan.rawHead != nil)
            if let now, now.symptom == finding.symptom {
                verdicts[at] = Verdict(reproduced: true, detail: now.detail)
            } else if verdicts[at] == nil {
                verdicts[at] = Verdict(reproduced: false, detail: now.map { "now \($0.kind.rawValue): \($0.detail)" } ?? "the probe was answered and nothing failed")
            }
        }
        return verdicts
    }

    /// The server completes an upgrade and close for a second after the replay (a server in the
    /// middle of dying still completes TCP connects, so one connect proves nothing).
    static func stillAnswers(_ replayer: Replayer, _ plan: ReplayConnection) -> Bool {
        var bare = plan
        bare.steps = []
        bare.expected = []
        bare.rawHead = nil
        let deadline = Date().addingTimeInterval(1)
        repeat {
            guard let outcome = try? replayer.replay(bare).wait(), outcome.failure == nil else { return false }
            usleep(100_000)
        } while Date() < deadline
        return true
    }

    private func appendVerdict(_ verdict: Verdict, finding: CaptureRecord.FindingMark, plan: ReplayConnection, outcome: ReplayOutcome, into out: inout [UInt8]) {
        switch format {
        case .jsonl:
            out += Array(#"{"conn":"#.utf8)
            JSONString.encode(plan.conn, into: &out)
            out += Array(#","finding":"#.utf8)
            JSONString.encode(finding.oracle, into: &out)
            out += Array(",\"reproduced\":\(verdict.reproduced),\"detail\":".utf8)
            JSONString.encode(verdict.detail, into: &out)
            out += Array("}\n".utf8)
        case .text:
            let said = verdict.reproduced ? style.red("reproduced: \(finding.oracle), as found") : style.green("no longer reproduces")
            var line = "\(style.bold(plan.conn)) \(options.path ?? plan.url): \(outcome.messagesSent) sent, \(said) (\(verdict.detail))"
            if !verdict.reproduced { line += "; found as \(finding.oracle): \(finding.detail)" }
            out += Array((line + "\n").utf8)
        }
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
        if s.findings > 0 {
            text += s.reproduced == 0 ? style.green(s.findings == 1 ? "the finding no longer reproduces" : "no finding reproduces") + ".\n"
                : style.red(s.findings == 1 ? "the finding reproduces" : "\(s.reproduced) of \(s.findings) findings reproduce") + ".\n"
            return text + ViolationFormatter(format: .text, style: style).summary(s.check)
        }
        text += s.differences == 0
            ? style.green("answers as recorded") + ".\n"
            : style.red("\(count(s.differences, "difference")) in \(count(s.connectionsDiffering, "connection"))") + ".\n"
        return text + ViolationFormatter(format: .text, style: style).summary(s.check)
    }
}

import Foundation

/// `basetap fuzz`: mutated versions of a recorded session against a live server, judged by the
/// oracles; each new kind of failure is minimized and saved as a capture `basetap replay` reproduces.
public struct FuzzRun {
    public var seedCapture: String
    public var options: ReplayOptions
    public var seed: UInt64 = 1
    /// Stop after this long (seconds) or this many mutated messages, whichever comes first.
    public var duration: Double?
    public var maxMessages: Int?
    public var outDirectory = "fuzz-out"
    public var workers = 4
    /// Run only cases `index % count == shard - 1`, so N machines split one run.
    public var shard = (index: 1, count: 1)
    public var exec: String?
    public var profile: Profile?
    public var families: Set<MutationOperator.Family>?
    public var check = CheckOptions()
    public var minimize = true
    public var style = Style(enabled: false)
    public var output: OutputFile
    public var progress: OutputFile?

    public init(seedCapture: String, options: ReplayOptions, output: OutputFile = .standardOutput) {
        self.seedCapture = seedCapture
        self.options = options
        self.output = output
    }

    public struct Finding: Sendable {
        public var number: Int
        public var failure: Oracle.Failure
        public var op: String
        public var type: String
        public var caseIndex: Int
        public var messages: Int
        public var file: String
        public var serverOutput: String?
    }

    public struct Summary: Sendable {
        public var cases = 0
        public var messagesSent = 0
        public var seconds = 0.0
        public var findings: [Finding] = []
        public var restarts = 0
    }

    public func run() throws -> Summary {
        let plans = try Mutator.seedPlans(seedCapture)
        var options = self.options
        options.pace = .fast
        options.abandonUnanswered = true
        let server = exec.map { ServerProcess(command: $0, target: options.target) }
        try server?.start()
        defer { server?.stop() }
        let replayer = try Replayer(options: options)
        var oracle = Oracle(check: check)

        // The unmutated session first: a server that fails it already cannot be fuzzed meaningfully.
        var baselinePlan = plans[0]
        Mutator.addProbe(Mutator.probe(for: plans[0]), to: &baselinePlan)
        let baseline = try replayer.replay(baselinePlan).wait()
        if let failure = oracle.judge(baseline) {
            throw BasetapError.input(place: options.target.url, message: "the unmutated seed session already fails (\(failure.kind.rawValue): \(failure.detail))")
        }
        let baselineLatency = baseline.latencies[Mutator.probeID] ?? 1_000_000
        oracle.slowAfter = max(Int64(options.timeout * 0.5e9), baselineLatency * 50)

        let mutator = Mutator(seed: seed, plans: plans, profile: profile, families: families)
        try FileManager.default.createDirectory(atPath: outDirectory + "/findings", withIntermediateDirectories: true)
        let meter = progress.map { ProgressMeter(output: $0, label: "fuzzing \(options.target.url)", total: nil) }
        var summary = Summary()
        var seen = Set<String>()
        let started = Date()
        var next = shard.index - 1
        func done() -> Bool {
            if let maxMessages, summary.messagesSent >= maxMessages { return true }
            if let duration, Date().timeIntervalSince(started) >= duration { return true }
            return false
        }
        // An upgrade and a Close alone: a server that is alive answers it at once.
        var handshakeOnly = plans[0]
        handshakeOnly.steps = []
        handshakeOnly.expected = []
        func answersHandshake() -> Bool {
            guard let outcome = try? replayer.replay(handshakeOnly).wait() else { return false }
            return outcome.failure == nil && outcome.abnormalEnd == nil
        }
        func judged(_ plan: ReplayConnection) throws -> (Oracle.Failure?, ReplayOutcome) {
            let outcome = try replayer.replay(plan).wait()
            return (oracle.judge(outcome), outcome)
        }
        /// Runs one plan alone and judges it; with `--exec`, a server that died on it is a crash (and is restarted).
        func attempt(_ plan: ReplayConnection) throws -> (Oracle.Failure?, ReplayOutcome) {
            if let server, server.exitDescription != nil || !ServerProcess.accepts(options.target) { try server.restart() }
            let first = try judged(plan)
            guard let server, first.0 != nil, server.deathAfterCase(handshake: answersHandshake) != nil else { return first }
            // A loaded server can still be working through earlier cases and die of one of them during
            // this one: only a fresh server that dies of this case alone convicts it.
            try server.restart()
            let (failure, outcome) = try judged(plan)
            guard failure != nil, let death = server.deathAfterCase(handshake: answersHandshake) else { return (failure, outcome) }
            try server.restart()
            return (Oracle.Failure(kind: .crash, detail: "the server \(death)"), outcome)
        }
        while !done() {
            // Large batches: a case that hangs holds one worker for the timeout while the others go on.
            let cases = (0..<max(1, workers * 32)).map { i in mutator.makeCase(next + i * shard.count) }
            next += cases.count * shard.count
            let outcomes = replayer.run(cases.map(\.plan), parallel: workers)
            let judgments = outcomes.map(oracle.judge)
            if let server, judgments.contains(where: { $0 != nil }), server.deathAfterCase(handshake: answersHandshake) != nil { try server.restart() }
            // Candidates: the first case of each failure not seen yet (abort and down may be collateral of a
            // crash, so they are looked at again whatever their key).
            var candidates: [(FuzzCase, Oracle.Failure, ReplayOutcome)] = []
            var batchKeys = Set<String>()
            for ((fuzzCase, outcome), judgment) in zip(zip(cases, outcomes), judgments) {
                summary.cases += 1
                // Counted from the plan, not from what got through before a crash: the same seed stops at the same case.
                summary.messagesSent += fuzzCase.plan.steps.filter(\.isMessage).count
                guard let first = judgment else { continue }
                let key = Self.key(first.kind, fuzzCase)
                if (seen.contains(key) && first.kind != .abort && first.kind != .down) || !batchKeys.insert(key).inserted { continue }
                if first.kind == .down && server == nil {
                    let finding = try save(fuzzCase, failure: first, outcome: outcome, number: summary.findings.count + 1, attempt: nil, original: fuzzCase.plan)
                    summary.findings.append(finding)
                    return try finish(summary, started: started, meter: meter, stopped: "the server stopped accepting connections")
                }
                candidates.append((fuzzCase, first, outcome))
            }
            // Each is confirmed alone: a case that failed only beside others (a crash another case caused, a
            // moment of overload) is no finding. A server basetap runs is tried one case at a time, so that a
            // crash is blamed on the case that caused it; any other server takes the reruns in parallel.
            let confirmations: [(Oracle.Failure?, ReplayOutcome)] = server != nil
                ? try candidates.map { try attempt($0.0.plan) }
                : replayer.run(candidates.map(\.0.plan), parallel: workers).map { (oracle.judge($0), $0) }
            for ((fuzzCase, _, _), (confirmed, result)) in zip(candidates, confirmations) {
                guard let failure = confirmed, seen.insert(Self.key(failure.kind, fuzzCase)).inserted else { continue }
                let finding = try save(fuzzCase, failure: failure, outcome: result, number: summary.findings.count + 1,
                                       attempt: attempt, original: plans.first { $0.conn == fuzzCase.plan.conn }!,
                                       serverOutput: server?.outputBeforeRestart)
                summary.findings.append(finding)
                try output.write("\(style.red("found")) \(finding.failure.kind.rawValue) with \(style.cyan(finding.op)) on \(finding.type): \(finding.failure.detail) → \(finding.file)\n")
                try output.flush()
            }
            let seconds = max(0.001, Date().timeIntervalSince(started))
            meter?.update(done: summary.messagesSent, detail: "\(Int(Double(summary.messagesSent) / seconds)) messages/s, \(summary.cases) connections, \(summary.findings.count) findings")
        }
        summary.restarts = server?.restarts ?? 0
        return try finish(summary, started: started, meter: meter, stopped: nil)
    }

    /// Findings are told apart by oracle, operator and the type of the message it changed.
    static func key(_ kind: Oracle.Kind, _ fuzzCase: FuzzCase) -> String {
        "\(kind.rawValue)|\(fuzzCase.ops.first ?? "none")|\(fuzzCase.types.first ?? "(none)")"
    }

    private func finish(_ summary: Summary, started: Date, meter: ProgressMeter?, stopped: String?) throws -> Summary {
        meter?.finish()
        var summary = summary
        summary.seconds = Date().timeIntervalSince(started)
        try writeReport(summary, stopped: stopped)
        let rate = Int(Double(summary.messagesSent) / max(summary.seconds, 0.001))
        var text = "\(style.bold("Fuzzed")) \(options.target.url) with seed \(seed): \(summary.cases) connections, \(summary.messagesSent) messages (\(rate)/s) in \(String(format: "%.1f", summary.seconds)) s"
        text += summary.findings.isEmpty ? ", " + style.green("no findings") + ".\n" : ", " + style.red(ViolationFormatter.count(summary.findings.count, "finding")) + " in \(outDirectory)/findings (report: \(outDirectory)/report.md).\n"
        if let stopped { text += "Stopped early: \(stopped).\n" }
        try output.write(text)
        try output.flush()
        return summary
    }

    private func save(_ fuzzCase: FuzzCase, failure: Oracle.Failure, outcome: ReplayOutcome, number: Int,
                      attempt: ((ReplayConnection) throws -> (Oracle.Failure?, ReplayOutcome))?, original: ReplayConnection,
                      serverOutput: String? = nil) throws -> Finding {
        var plan = fuzzCase.plan
        var final = outcome
        if minimize, let attempt {
            // A hang costs a timeout per run: fewer runs for those.
            let minimizer = Minimizer(run: { candidate in (try? attempt(candidate)) ?? (nil, ReplayOutcome(conn: candidate.conn)) },
                                      budget: failure.kind == .hang ? 8 : 40)
            (plan, final) = minimizer.minimize(plan, original: original, kind: failure.kind, outcome: outcome)
        }
        let op = fuzzCase.ops.first ?? "none"
        let name = String(format: "%03d", number) + "-\(failure.kind.rawValue)-\(op).jsonl"
        let path = outDirectory + "/findings/" + name
        let writer = try JSONLCaptureWriter(path: path)
        for record in final.records { try writer.write(record) }
        try writer.close()
        return Finding(number: number, failure: failure, op: op, type: fuzzCase.types.first ?? "(none)", caseIndex: fuzzCase.index,
                       messages: plan.steps.count, file: "findings/" + name, serverOutput: failure.kind == .crash ? serverOutput : nil)
    }

    private func writeReport(_ summary: Summary, stopped: String?) throws {
        var text = "# basetap fuzz report\n\n"
        text += "- target: `\(options.target.url)`\n- seed capture: `\(seedCapture)`\n- seed: \(seed)"
        if shard.count > 1 { text += " (shard \(shard.index)/\(shard.count))" }
        text += "\n- \(summary.cases) connections, \(summary.messagesSent) messages in \(String(format: "%.1f", summary.seconds)) s\n"
        if let exec { text += "- server: `\(exec)` (restarted \(summary.restarts) times)\n" }
        if let stopped { text += "- stopped early: \(stopped)\n" }
        text += "\n| # | oracle | operator | message type | messages | detail | capture |\n|---|---|---|---|---|---|---|\n"
        for finding in summary.findings {
            let detail = finding.failure.detail.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
            text += "| \(finding.number) | \(finding.failure.kind.rawValue) | `\(finding.op)` | `\(finding.type)` | \(finding.messages) | \(detail) | [\(finding.file)](\(finding.file)) |\n"
        }
        if summary.findings.isEmpty { text += "| | | | | | no findings | |\n" }
        for finding in summary.findings where finding.serverOutput?.isEmpty == false {
            text += "\n## \(finding.number): the server's last output\n\n```\n\(finding.serverOutput!)\n```\n"
        }
        text += "\nReproduce a finding: `basetap replay \(outDirectory)/findings/FILE --target \(options.target.url)`.\n"
        do {
            try text.write(toFile: outDirectory + "/report.md", atomically: true, encoding: .utf8)
        } catch {
            throw BasetapError.input(place: outDirectory + "/report.md", message: "cannot write: \(error.localizedDescription)")
        }
    }
}

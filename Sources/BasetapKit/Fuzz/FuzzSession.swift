import Foundation
import NIOCore

/// One fuzz run while it goes: the server, each seed connection's baseline, the findings by symptom.
/// The loop runs batches of cases in parallel and looks at what went wrong: a server death at once
/// (the batch stops, the cases open when it died are its suspects and are each run alone, the cases
/// it cut short run again), then each new symptom, confirmed alone and checked against its
/// connection without the mutation.
final class FuzzSession {
    let run: FuzzRun
    let options: ReplayOptions
    let replayer: Replayer
    let server: ServerProcess?
    private var oracle: Oracle
    private var mutator: Mutator
    private var summary = FuzzRun.Summary()
    /// Symptoms each seed connection shows without any mutation: a case on it with one of them found nothing.
    private var baseline: [String: Set<String>] = [:]
    private var findingBySymptom: [String: Int] = [:]
    private var behaviours = Set<String>()
    private let handshakeOnly: ReplayConnection
    private let started = Date()
    private var meter: ProgressMeter?
    /// The last cases run alone: a server can die of one a moment after it seemed to survive it.
    private var lastAttempts: [FuzzCase] = []

    init(run: FuzzRun) throws {
        self.run = run
        let plans = try Mutator.seedPlans(run.seedCapture)
        var options = run.options
        options.pace = .fast
        options.abandonUnanswered = true
        self.options = options
        var families = run.families ?? Set(MutationOperator.Family.allCases)
        if families.contains(.churn) && !FuzzRun.isLoopback(options.target.host) {
            families.remove(.churn)
            summary.warnings.append("the churn family (storms of connections) runs against loopback targets only: left out for \(options.target.host)")
        }
        let path = options.path, headers = options.headers, target = options.target
        mutator = Mutator(seed: run.seed, plans: plans, profile: run.profile, families: families) { plan, key in
            plan.requestHead(target: target, path: path, extra: headers, key: key)
        }
        oracle = Oracle(check: run.check)
        var handshakeOnly = plans[0]
        handshakeOnly.steps = []
        handshakeOnly.expected = []
        self.handshakeOnly = handshakeOnly
        let replayer = try Replayer(options: options)
        self.replayer = replayer
        server = run.exec.map { ServerProcess(command: $0, target: options.target) { Self.completes(handshakeOnly, replayer) } }
        try server?.start()
    }

    func fuzz() throws -> FuzzRun.Summary {
        do {
            try FileManager.default.createDirectory(atPath: run.outDirectory + "/findings", withIntermediateDirectories: true)
        } catch {
            throw BasetapError.input(place: run.outDirectory, message: "cannot create the findings folder: \(error.localizedDescription)")
        }
        for plan in mutator.plans where mutator.probes[plan.conn] == nil {
            summary.warnings.append("\(plan.conn) has no request whose recorded answer is clean, so its cases have no probe: a server that hangs there is not found")
        }
        try baselines()
        for warning in summary.warnings { try say("\(run.style.yellow("warning")): \(warning)\n") }
        meter = run.progress.map { ProgressMeter(output: $0, label: "fuzzing \(options.target.url)", total: nil) }
        var next = run.shard.index - 1
        var stopped: String?
        while !done() && stopped == nil {
            let first = next
            // Large batches, so that a case that hangs holds one worker for the timeout while the
            // others go on; smaller ones for a server basetap runs, which may die and is looked at sooner.
            let count = server == nil ? min(4096, run.workers * 256) : run.workers * 32
            next += count * run.shard.count
            stopped = try batch(count) { mutator.makeCase(first + $0 * run.shard.count) }
            let seconds = max(0.001, Date().timeIntervalSince(started))
            meter?.update(done: summary.messagesSent, detail: "\(Int(Double(summary.messagesSent) / seconds)) messages/s, \(summary.cases) connections, "
                          + "\(ViolationFormatter.count(summary.findings.count, "finding")), \(behaviours.count) behaviours seen")
        }
        return try finish(stopped: stopped)
    }

    private func done() -> Bool {
        if let maxMessages = run.maxMessages, summary.messagesSent >= maxMessages { return true }
        if let duration = run.duration, Date().timeIntervalSince(started) >= duration { return true }
        return false
    }

    private func say(_ text: String) throws {
        try run.output.write(text)
        try run.output.flush()
    }

    // MARK: Running cases

    private func play(_ fuzzCase: FuzzCase, timeout: Double? = nil) -> EventLoopFuture<ReplayOutcome> {
        replayer.replay(fuzzCase.plan, after: fuzzCase.companions, timeout: timeout)
    }

    private func answersHandshake() -> Bool { Self.completes(handshakeOnly, replayer) }

    /// The timeout of a run again after one that timed out, to tell a slow moment (a server just
    /// started, a busy machine: seconds, whatever the timeout) from a hang.
    private var patience: Double { max(2 * options.timeout, options.timeout + 4) }

    /// An upgrade and a Close alone: a server that is alive answers it at once.
    private static func completes(_ handshakeOnly: ReplayConnection, _ replayer: Replayer) -> Bool {
        guard let outcome = try? replayer.replay(handshakeOnly).wait() else { return false }
        return outcome.failure == nil && outcome.abnormalEnd == nil
    }

    private func restart() throws {
        try server?.restart()
        summary.restarts = server?.restarts ?? 0
    }

    /// Runs one case alone and judges it; with `--exec`, a server that died of it is a crash (and is restarted).
    private func attempt(_ fuzzCase: FuzzCase, timeout: Double? = nil) throws -> (Oracle.Failure?, ReplayOutcome, ServerProcess.Death?) {
        if let server, server.exitDescription != nil || !answersHandshake() { try restart() }
        lastAttempts = (lastAttempts + [fuzzCase]).suffix(run.workers)
        let outcome = try play(fuzzCase, timeout: timeout).wait()
        let failure = oracle.judge(outcome, handshake: fuzzCase.breaksHandshake)
        guard let server, failure != nil || fuzzCase.breaksHandshake || !fuzzCase.companions.isEmpty,
            server.died(handshake: answersHandshake), let death = server.death()
        else { return (failure, outcome, nil) }
        try restart()
        return (Oracle.Failure(kind: .crash, detail: death.summary, symptom: Oracle.crashSymptom(death.signature)), outcome, death)
    }

    /// `attempt`, and once more with more time when the client gave up on the run.
    private func attemptPatiently(_ fuzzCase: FuzzCase) throws -> (Oracle.Failure?, ReplayOutcome, ServerProcess.Death?) {
        let first = try attempt(fuzzCase)
        guard first.1.timedOut, first.2 == nil else { return first }
        return try attempt(fuzzCase, timeout: patience)
    }

    /// The cases run again at once against a server basetap does not run, and those the client
    /// gave up on once more with more time; judged.
    private func rerun(_ cases: [FuzzCase]) -> [(Oracle.Failure?, ReplayOutcome, ServerProcess.Death?)] {
        var outcomes = replayer.run(count: cases.count, parallel: run.workers) { play(cases[$0]) }
        let late = outcomes.indices.filter { outcomes[$0].timedOut }
        let again = replayer.run(count: late.count, parallel: run.workers) { play(cases[late[$0]], timeout: patience) }
        for (index, outcome) in zip(late, again) { outcomes[index] = outcome }
        return zip(cases, outcomes).map { (oracle.judge($1, handshake: $0.breaksHandshake), $1, nil) }
    }

    /// One batch of cases `make` makes; why the run must stop, when it must (a server basetap does
    /// not run stopped accepting). A server that dies stops the batch: nothing more is started until its
    /// death is looked into and it is back, and the cases it cut short run again.
    private func batch(_ count: Int, _ make: (Int) -> FuzzCase) throws -> String? {
        var cases = [FuzzCase?](repeating: nil, count: count)
        var outcomes = [ReplayOutcome?](repeating: nil, count: count)
        var suspects = Set<Int>()
        var deaths = 0
        var todo = Array(0..<count)
        var budget = run.maxMessages.map { $0 - summary.messagesSent } ?? .max
        while !todo.isEmpty {
            let round = todo
            // Not started: while the server is dead (run in the next round), or past the run's end (never).
            var skipped: [Int] = []
            var unmade: [Int] = []
            // Each case is made just before it starts: making one overlaps with running the others.
            let results = replayer.run(count: round.count, parallel: run.workers) { j in
                let i = round[j]
                if let server, server.exitDescription != nil {
                    skipped.append(i)
                    return replayer.nothing()
                }
                // The run's end (its time, or its messages counted from the plans) can come within a batch.
                if cases[i] == nil {
                    guard budget > 0, run.duration.map({ Date().timeIntervalSince(started) < $0 }) ?? true else {
                        unmade.append(i)
                        return replayer.nothing()
                    }
                    cases[i] = make(i)
                    budget -= cases[i]!.messages
                }
                return play(cases[i]!)
            }
            let ran = round.indices.filter { !skipped.contains(round[$0]) && !unmade.contains(round[$0]) }
            for j in ran { outcomes[round[j]] = results[j] }
            todo = skipped
            guard let server, server.exitDescription != nil || (ran.contains { results[$0].failure != nil || results[$0].abnormalEnd != nil } && server.died(handshake: answersHandshake)),
                let death = server.death()
            else { continue }
            deaths += 1
            let indices = ran.map { round[$0] }
            // When it died: the exit as seen, or before that the first connection it refused.
            let at = min(death.at, indices.filter { outcomes[$0]!.unreachable }.map { outcomes[$0]!.endedAt }.min() ?? .max)
            let window = try died(death, at: at, cases: indices.map { cases[$0]! }, outcomes: indices.map { outcomes[$0]! }).map { indices[$0] }
            suspects.formUnion(window)
            // Cases still open when the server died, or started after, ran against a dying or dead
            // server: what they saw is the death's doing. They run again (a server that keeps dying
            // is given up on after a few deaths in one batch, and those cases are not judged).
            let cutShort = indices.filter { outcomes[$0]!.endedAt >= at - 100_000_000 && !suspects.contains($0) }
            if deaths < 8 { todo += cutShort } else { suspects.formUnion(cutShort) }
            todo.sort()
        }
        var candidates: [(FuzzCase, Oracle.Failure)] = []
        var waiting: [String: [FuzzCase]] = [:]
        for i in 0..<count {
            guard let fuzzCase = cases[i], let outcome = outcomes[i] else { continue }
            summary.cases += 1
            // Counted from the plan, not from what got through before a crash: the same seed stops at the same case.
            summary.messagesSent += fuzzCase.messages
            guard !suspects.contains(i) else { continue }
            guard let failure = oracle.judge(outcome, handshake: fuzzCase.breaksHandshake) else {
                // Which cases a death cut short depends on timing: a batch with one teaches nothing,
                // so that the same seed makes the same cases.
                if deaths == 0 { learn(fuzzCase, outcome) }
                continue
            }
            if baseline[fuzzCase.plan.conn]?.contains(failure.symptom) == true { continue }
            if let index = findingBySymptom[failure.symptom] {
                summary.findings[index].count(fuzzCase)
            } else if waiting[failure.symptom] == nil {
                waiting[failure.symptom] = []
                candidates.append((fuzzCase, failure))
            } else {
                waiting[failure.symptom]!.append(fuzzCase)
            }
        }
        // Each candidate is run again alone: a case that failed only beside others (a crash another case
        // caused, a moment of overload) is no finding. A server basetap runs is tried one case at a time,
        // so that a crash is blamed on its case; any other server takes the reruns in parallel. A rerun
        // the client gave up on runs once more with more time: a hang is no answer even then.
        let reruns = server != nil ? try candidates.map { try attemptPatiently($0.0) } : rerun(candidates.map(\.0))
        for ((fuzzCase, first), (confirmed, outcome, death)) in zip(candidates, reruns) {
            guard let confirmed else { continue }
            if let index = findingBySymptom[confirmed.symptom] {
                summary.findings[index].count(fuzzCase)
                continue
            }
            if try notCausedByMutation(fuzzCase, confirmed) { continue }
            var finding = try save(fuzzCase, failure: confirmed, outcome: outcome, death: death, reproduction: "by a run on its own")
            for other in waiting[first.symptom] ?? [] where confirmed.symptom == first.symptom && confirmed.kind != .down { finding.count(other) }
            record(finding)
            if confirmed.kind == .down && server == nil {
                return "the server stopped accepting connections (basetap does not run it, so which case stopped it is not known)"
            }
        }
        return nil
    }

    /// A case whose connection fails the same way with the mutation reverted did not find anything:
    /// the symptom joins that connection's baseline (reported once, as a `baseline` finding).
    private func notCausedByMutation(_ fuzzCase: FuzzCase, _ failure: Oracle.Failure) throws -> Bool {
        // A server that died or stopped accepting fails every connection alike: that says nothing of the mutation.
        guard !fuzzCase.ops.isEmpty, failure.kind != .crash, failure.kind != .down else { return false }
        let reverted = mutator.unmutated(fuzzCase.plan.conn)
        let (again, outcome, _) = try attemptPatiently(reverted)
        guard let again, again.symptom == failure.symptom else { return false }
        let known = baseline[fuzzCase.plan.conn] != nil
        baseline[fuzzCase.plan.conn, default: []].insert(failure.symptom)
        if !known {
            let finding = try saveBaseline(reverted, failure: again, outcome: outcome, runs: "failed when a mutated case was checked against it")
            try say("\(run.style.yellow("warning")): \(fuzzCase.plan.conn) fails without any mutation (\(again.kind.rawValue): \(again.detail)); saved as \(finding.file); its cases count only when they fail otherwise\n")
        }
        return true
    }

    // MARK: Baselines

    /// Each seed connection unmutated, a few times: what already fails is reported once and not
    /// blamed on any operator later; the slowest probe answer sets what counts as slow.
    private func baselines() throws {
        var slowest: Int64 = 0
        for plan in mutator.plans {
            let unmutated = mutator.unmutated(plan.conn)
            var failures: [(Oracle.Failure, ReplayOutcome)] = []
            for _ in 0..<max(1, run.baselineRuns) {
                // A server just started, on a busy machine, can be slow for a moment: a run given up
                // on is a failure of the seed only if it is given up on again with more time.
                let (failure, outcome, _) = try attemptPatiently(unmutated)
                if outcome.unreachable, let failure {
                    throw BasetapError.input(place: options.target.url, message: "the unmutated seed session already fails (\(failure.kind.rawValue): \(failure.detail))")
                }
                slowest = max(slowest, outcome.latencies[ReplayConnection.probeID] ?? 0)
                if let failure { failures.append((failure, outcome)) } else { learn(unmutated, outcome) }
            }
            guard let (first, outcome) = failures.first else { continue }
            baseline[plan.conn] = Set(failures.map(\.0.symptom))
            let finding = try saveBaseline(unmutated, failure: first, outcome: outcome, runs: "\(failures.count) of \(max(1, run.baselineRuns)) unmutated runs")
            summary.warnings.append("\(plan.conn) already fails without any mutation (\(first.kind.rawValue): \(first.detail), \(finding.reproduction)); "
                                    + "saved as \(finding.file); its cases count only when they fail otherwise")
        }
        oracle.slowAfter = max(Int64(options.timeout * 0.5e9), slowest * 50)
    }

    private func saveBaseline(_ fuzzCase: FuzzCase, failure: Oracle.Failure, outcome: ReplayOutcome, runs: String) throws -> FuzzRun.Finding {
        let marked = Oracle.Failure(kind: .baseline, detail: "\(failure.kind.rawValue): \(failure.detail)", symptom: failure.symptom)
        let finding = try save(fuzzCase, failure: marked, outcome: outcome, death: nil, reproduction: runs, minimizing: false)
        summary.findings.append(finding)
        return finding
    }

    // MARK: Deaths

    /// The server died during a batch. Its suspects are the cases open at that moment; each is run
    /// alone against a fresh server, and the first that kills it is the crash. When none does, the
    /// death is still a finding: the window of cases, run together again to say how often it comes back.
    /// Returns the suspects' indices.
    @discardableResult
    private func died(_ death: ServerProcess.Death, at: Int64, cases: [FuzzCase], outcomes: [ReplayOutcome]) throws -> [Int] {
        let symptom = Oracle.crashSymptom(death.signature)
        // The suspects: cases that reached the server and were open up to the death. A death breaks
        // every connection open at that moment, the killer's among them, so the ones that broke last
        // come first. (The exit may be seen a little late: cases over up to two seconds before it count.)
        let broken = { (i: Int) in outcomes[i].failure != nil || outcomes[i].abnormalEnd != nil }
        // (A churn case's own connection comes after its others, so it may find the server dead.)
        let reached = { (i: Int) in !outcomes[i].unreachable || !cases[i].companions.isEmpty }
        var window = outcomes.indices.filter { reached($0) && outcomes[$0].startedAt <= at && outcomes[$0].endedAt + 2_000_000_000 >= at }
        window.sort { broken($0) != broken($1) ? broken($0) : outcomes[$0].endedAt > outcomes[$1].endedAt }
        window = Array(window.prefix(2 * run.workers))
        if window.isEmpty { window = Array(outcomes.indices.filter { outcomes[$0].startedAt <= at }.suffix(run.workers)) }
        try restart()
        if let index = findingBySymptom[symptom] {
            // Seen again, but which of the open cases did it is not known: no operator is credited.
            summary.findings[index].cases += 1
            return window
        }
        // The cases run alone just before the batch are suspects too: a server may die a moment after
        // it seemed to survive one.
        let suspects = window.map { cases[$0] } + lastAttempts.reversed()
        lastAttempts = []
        let (killed, gaveUp) = try killerAlone(suspects)
        if killed { return window }
        // A case whose run was given up on (no answer within the timeout: a server slow for a moment,
        // on a busy machine) may have been closed before the server read its mutated message, and
        // a server that finds the connection gone may never read it: it did not show that the case
        // leaves the server alive. Those run once more, with more time.
        if !gaveUp.isEmpty, try killerAlone(gaveUp, timeout: patience).killed { return window }
        let alone = "no case alone" + (gaveUp.isEmpty ? "" : " (\(ViolationFormatter.count(gaveUp.count, "case")) that timed out ran again with \(String(format: "%g", patience)) s to answer)")
        var reproduced = 0
        let tries = 3
        for _ in 0..<tries {
            if server?.exitDescription != nil { try restart() }
            _ = replayer.run(count: window.count, parallel: window.count) { play(cases[window[$0]]) }
            guard server?.died(handshake: answersHandshake) == true else { continue }
            // Only the same death counts: many cases at once may kill the server some other way.
            if server?.death()?.signature == death.signature { reproduced += 1 }
            try restart()
        }
        let failure = Oracle.Failure(kind: .crashUnconfirmed, detail: death.summary, symptom: symptom)
        var finding = try saveWindow(window.map { cases[$0] }, outcomes: window.map { outcomes[$0] }, failure: failure, death: death,
                                     reproduction: "\(alone); the \(window.count) cases together brought it back in \(reproduced) of \(tries) runs")
        finding.confirmed = reproduced > 0
        record(finding)
        return window
    }

    /// Runs each suspect alone until one kills the server, and records that one as the crash.
    /// Returns whether one did, and the suspects whose run the client gave up on.
    private func killerAlone(_ suspects: [FuzzCase], timeout: Double? = nil) throws -> (killed: Bool, gaveUp: [FuzzCase]) {
        var gaveUp: [FuzzCase] = []
        for suspect in suspects {
            let (failure, outcome, alone) = try attempt(suspect, timeout: timeout)
            if outcome.timedOut { gaveUp.append(suspect) }
            guard let failure, failure.kind == .crash, let alone else { continue }
            // Two cases open at once may each kill the server, in two ways.
            if let index = findingBySymptom[failure.symptom] {
                summary.findings[index].count(suspect)
                continue
            }
            record(try save(suspect, failure: failure, outcome: outcome, death: alone, reproduction: "a fresh server died of this case alone"))
            return (true, gaveUp)
        }
        return (false, gaveUp)
    }

    // MARK: Findings

    private func record(_ finding: FuzzRun.Finding) {
        findingBySymptom[finding.failure.symptom] = summary.findings.count
        summary.findings.append(finding)
        let with = finding.op.map { " with \(run.style.cyan($0))" } ?? ""
        try? say("\(run.style.red("found")) \(finding.failure.kind.rawValue)\(with): \(finding.failure.detail) → \(finding.file)\n")
    }

    private func save(_ fuzzCase: FuzzCase, failure: Oracle.Failure, outcome: ReplayOutcome, death: ServerProcess.Death?,
                      reproduction: String, minimizing: Bool = true) throws -> FuzzRun.Finding {
        var plan = fuzzCase.plan
        var final = outcome
        var failure = failure
        if run.minimize && minimizing && !fuzzCase.ops.isEmpty && failure.kind != .down {
            let original = mutator.plans.first { $0.conn == fuzzCase.plan.conn }!
            // A hang costs a timeout per run, a crash a server restart: fewer runs for those.
            let minimizer = Minimizer(run: { [self] candidate in
                var shrunk = fuzzCase
                shrunk.plan = candidate
                guard let (found, outcome, _) = try? attempt(shrunk) else { return (nil, ReplayOutcome(conn: candidate.conn)) }
                return (found, outcome)
            }, budget: failure.kind == .hang ? 8 : failure.kind == .crash ? 16 : 40)
            (plan, final, failure) = minimizer.minimize(plan, original: original, failure: failure, outcome: outcome)
        }
        var minimized = fuzzCase
        minimized.plan = plan
        return try saveWindow([minimized], outcomes: [final], failure: failure, death: death, reproduction: reproduction)
    }

    /// Writes the finding's capture (one connection per case, with a churn case's own connections
    /// first) and, for a death, the server's output beside it.
    private func saveWindow(_ cases: [FuzzCase], outcomes: [ReplayOutcome], failure: Oracle.Failure, death: ServerProcess.Death?,
                            reproduction: String) throws -> FuzzRun.Finding {
        let number = summary.findings.count + 1
        // A server that stopped accepting refuses whatever comes next: the case that met it is no culprit.
        let credited = failure.kind != .down
        let op = cases.count == 1 && credited ? cases.first?.ops.last : nil
        let base = String(format: "%03d", number) + "-\(failure.kind.rawValue)-\(op ?? cases.first?.plan.conn ?? "none")"
        let mark = CaptureRecord.FindingMark(oracle: failure.kind.rawValue, symptom: failure.symptom, detail: failure.detail)
        let writer = try JSONLCaptureWriter(path: run.outDirectory + "/findings/" + base + ".jsonl")
        var messages = 0
        for (n, (fuzzCase, outcome)) in zip(cases, outcomes).enumerated() {
            let prefix = cases.count > 1 ? "w\(n + 1)" : nil
            for companion in fuzzCase.companions {
                for var record in companion.clientRecords() {
                    record.conn = prefix.map { "\($0)-\(companion.conn)" } ?? companion.conn
                    if record.kind == .open { record.finding = mark }
                    try writer.write(record)
                }
            }
            var records = outcome.records
            if records.first?.kind != .open { records = Array(fuzzCase.plan.clientRecords().prefix(1)) + records + [Self.end(outcome)] }
            for var record in records {
                record.conn = prefix ?? record.conn
                if record.kind == .open {
                    record.finding = mark
                    record.request = fuzzCase.plan.rawHead.map { String(decoding: $0, as: UTF8.self) }
                }
                if record.dir == .c2s && record.kind.isMessage { messages += 1 }
                try writer.write(record)
            }
        }
        try writer.close()
        var finding = FuzzRun.Finding(number: number, failure: failure, confirmed: failure.kind != .crashUnconfirmed, reproduction: reproduction,
                                      conn: cases.first?.plan.conn ?? "", op: op, cases: 0, messages: messages, file: "findings/\(base).jsonl", death: death)
        if credited {
            for fuzzCase in cases { finding.count(fuzzCase) }
        } else {
            finding.cases = cases.count
        }
        if let death {
            finding.outputFile = "findings/\(base).log"
            try? "\(death.exit)\n\n\(death.output)".write(toFile: run.outDirectory + "/" + finding.outputFile!, atomically: true, encoding: .utf8)
        }
        return finding
    }

    /// The end of a connection that never got past its upgrade.
    private static func end(_ outcome: ReplayOutcome) -> CaptureRecord {
        var end = CaptureRecord(ts: CaptureTime.now(), conn: outcome.conn, kind: .end)
        end.error = outcome.failure ?? outcome.abnormalEnd
        return end
    }

    // MARK: Response-guided search

    /// A mutant that made the server answer in a way not seen before (a new answer type, error
    /// code or close code) becomes a seed of its own.
    private func learn(_ fuzzCase: FuzzCase, _ outcome: ReplayOutcome) {
        var new = false
        for record in outcome.records where record.dir == .s2c {
            let behaviour: String
            switch record.kind {
            case .text:
                let type = Envelope.peek(record.payload).map { $0.type ?? "(no type)" } ?? "(not JSON)"
                let code = type.hasSuffix(":error") ? (try? JSONValue(parsing: record.payload))?[path: [.key("payload"), .key("errCode")]]?.jsonText : nil
                behaviour = "answer \(type)" + (code.map { " errCode \($0)" } ?? "")
            case .binary: behaviour = "binary answer"
            case .close: behaviour = "close \(record.code ?? 1005)"
            default: continue
            }
            if behaviours.insert(behaviour).inserted { new = true }
        }
        summary.behaviours = behaviours.count
        guard new, !fuzzCase.ops.isEmpty, fuzzCase.companions.isEmpty, !fuzzCase.breaksHandshake else { return }
        mutator.learn(fuzzCase.plan)
        summary.learnedSeeds = mutator.learned.count
    }

    // MARK: The end

    private func finish(stopped: String?) throws -> FuzzRun.Summary {
        meter?.finish()
        summary.seconds = Date().timeIntervalSince(started)
        summary.restarts = server?.restarts ?? 0
        try FuzzReport(run: run, options: options, summary: summary, stopped: stopped).write()
        let rate = Int(Double(summary.messagesSent) / max(summary.seconds, 0.001))
        let style = run.style
        var text = "\(style.bold("Fuzzed")) \(options.target.url) with seed \(run.seed): \(summary.cases) connections, \(summary.messagesSent) messages (\(rate)/s) in \(String(format: "%.1f", summary.seconds)) s, \(summary.behaviours) behaviours seen"
        text += summary.findings.isEmpty ? ", " + style.green("no findings") + ".\n"
            : ", " + style.red(ViolationFormatter.count(summary.findings.count, "finding")) + " in \(run.outDirectory)/findings (report: \(run.outDirectory)/report.md).\n"
        if let stopped { text += "Stopped early: \(stopped).\n" }
        try say(text)
        return summary
    }
}

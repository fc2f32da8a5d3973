import Testing
@testable import BasetapKit

/// The minimizer against a stand-in for the server: a rule over the plan that says which failure the
/// plan causes, so that what must remain is known exactly.
@Suite struct MinimizerTests {
    private static func message(_ id: String, mutated: Bool = false) -> ReplayConnection.Step {
        ReplayConnection.Step(action: .message(opcode: 1, payload: Array(#"{"id":"\#(id)"}"#.utf8)), id: id,
                              mutation: mutated ? CaptureRecord.Mutation(seed: 1, ops: ["value.flip"]) : nil)
    }

    private static let close = ReplayConnection.Step(action: .close(code: 1000, reason: nil))
    private static let probe = message(ReplayConnection.probeID)
    private static let crash = Oracle.Failure(kind: .close1011, detail: "closed with 1011", symptom: "close 1011")

    private static func plan(_ steps: [ReplayConnection.Step]) -> ReplayConnection {
        ReplayConnection(conn: "c1", url: "/", headers: [], steps: steps, recorded: [])
    }

    private static func ids(_ plan: ReplayConnection) -> [String] {
        plan.steps.map { step in
            if case .close = step.action { return "close" }
            return (step.id ?? "?") + (step.mutation == nil ? "" : "'")
        }
    }

    /// The failure needs mutated step `b` and unmutated step `d` before it; everything else goes,
    /// and the mutation of `c` is undone.
    @Test func keepsWhatTheFailureNeedsAndNothingElse() {
        let original = Self.plan(["a", "b", "c", "d", "e", "f"].map { Self.message($0) } + [Self.close])
        var steps = original.steps
        steps[1] = Self.message("b", mutated: true)
        steps[2] = Self.message("c", mutated: true)
        steps.insert(Self.probe, at: 6)
        let mutated = Self.plan(steps)
        var runs = 0
        let minimizer = Minimizer(run: { candidate in
            runs += 1
            let shown = Self.ids(candidate)
            let fails = shown.contains("b'") && shown.contains("d")
            return (fails ? Self.crash : nil, ReplayOutcome(conn: "c1"))
        })
        let (smallest, _, failure) = minimizer.minimize(mutated, original: original, failure: Self.crash, outcome: ReplayOutcome(conn: "c1"))
        #expect(Self.ids(smallest) == ["b'", "d", ReplayConnection.probeID, "close"])
        #expect(failure == Self.crash)
        #expect(runs <= minimizer.budget)
    }

    /// Another failure on the way (a different symptom) is not the finding's: a step it needs is kept.
    @Test func aDifferentSymptomDoesNotCount() {
        let original = Self.plan([Self.message("a"), Self.message("b"), Self.close])
        let mutated = Self.plan([Self.message("a", mutated: true), Self.message("b"), Self.probe, Self.close])
        let minimizer = Minimizer(run: { candidate in
            let shown = Self.ids(candidate)
            let failure = shown.contains("b") ? Self.crash : Oracle.Failure(kind: .hang, detail: "no answer")
            return (failure, ReplayOutcome(conn: "c1"))
        })
        let (smallest, _, _) = minimizer.minimize(mutated, original: original, failure: Self.crash, outcome: ReplayOutcome(conn: "c1"))
        #expect(Self.ids(smallest) == ["a'", "b", ReplayConnection.probeID, "close"])
    }

    @Test func stopsAtTheBudgetWithTheBestFound() {
        let original = Self.plan((0..<64).map { Self.message("m\($0)") } + [Self.close])
        var steps = original.steps
        steps[63] = Self.message("m63", mutated: true)
        steps.insert(Self.probe, at: 64)
        var runs = 0
        let minimizer = Minimizer(run: { _ in
            runs += 1
            return (Self.crash, ReplayOutcome(conn: "c1"))
        }, budget: 3)
        let (smallest, _, _) = minimizer.minimize(Self.plan(steps), original: original, failure: Self.crash, outcome: ReplayOutcome(conn: "c1"))
        #expect(runs == 3)
        #expect(smallest.steps.count < steps.count)
        #expect(Self.ids(smallest).suffix(3) == ["m63'", ReplayConnection.probeID, "close"])
    }

    @Test func rawBytesCountAsAMutation() {
        let raw = ReplayConnection(conn: "c1", url: "/", headers: [],
                                   steps: [Self.message("a"), ReplayConnection.Step(action: .raw([0x81, 0x00])), Self.message("b", mutated: true)],
                                   recorded: [])
        #expect(Minimizer.mutatedCount(raw) == 2)
    }
}

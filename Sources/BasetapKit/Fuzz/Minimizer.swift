/// Delta debugging for a finding: drops the steps and the mutations that are not needed for the
/// failure, rerunning the case against the server each time, within a budget of runs.
struct Minimizer {
    /// Runs a plan and says which failure (if any) it caused.
    var run: (ReplayConnection) -> (Oracle.Failure?, ReplayOutcome)
    var budget = 40

    /// The smallest plan found that still shows `failure`'s symptom, with the outcome and failure of
    /// its last run: what the saved finding holds and says.
    func minimize(_ plan: ReplayConnection, original: ReplayConnection, failure: Oracle.Failure, outcome: ReplayOutcome)
        -> (ReplayConnection, ReplayOutcome, Oracle.Failure)
    {
        var best = plan
        var bestOutcome = outcome
        var bestFailure = failure
        var runs = 0
        func attempt(_ candidate: ReplayConnection) -> Bool {
            guard runs < budget else { return false }
            runs += 1
            let (found, result) = run(candidate)
            guard let found, found.symptom == failure.symptom else { return false }
            best = candidate
            bestOutcome = result
            bestFailure = found
            return true
        }
        // Undo mutations one at a time where the failure does not need them.
        for index in best.steps.indices where best.steps[index].mutation != nil && best.steps.count == original.steps.count + 1 {
            var candidate = best
            candidate.steps[index] = original.steps[index]
            if Self.mutatedCount(candidate) > 0 { _ = attempt(candidate) }
        }
        // Drop chunks of steps, halving the chunk size, keeping mutated steps, the probe and the close.
        var chunk = max(1, best.steps.count / 2)
        while chunk >= 1 && runs < budget {
            var start = 0
            while start < best.steps.count && runs < budget {
                let range = start..<min(best.steps.count, start + chunk)
                let removable = range.allSatisfy { i in
                    let step = best.steps[i]
                    if step.mutation != nil || step.id == ReplayConnection.probeID { return false }
                    if case .close = step.action { return false }
                    if case .raw = step.action { return false }
                    return true
                }
                var candidate = best
                candidate.steps.removeSubrange(range)
                if !(removable && attempt(candidate)) { start += chunk }
            }
            if chunk == 1 { break }
            chunk /= 2
        }
        return (best, bestOutcome, bestFailure)
    }

    static func mutatedCount(_ plan: ReplayConnection) -> Int {
        plan.steps.filter { step in
            if step.mutation != nil { return true }
            if case .raw = step.action { return true }
            return false
        }.count
    }
}

/// Makes fuzz cases: a recorded connection with one of its client messages (or its order) broken
/// by a named operator, drawn from the run's seed and the case's number only.
public struct Mutator: Sendable {
    public static let operators: [MutationOperator] =
        IDOperators.all + EnvelopeOperators.all + ValueOperators.all + FrameOperators.all + SchemaOperators.all

    public static func named(_ name: String) -> MutationOperator? { operators.first { $0.name == name } }

    /// The recorded connections of a capture that have client messages to mutate.
    public static func seedPlans(_ path: String) throws -> [ReplayConnection] {
        let plans = ReplayConnection.plan(try CaptureFile.records(path: path)).filter { $0.steps.contains(where: \.isMessage) }
        guard !plans.isEmpty else { throw BasetapError.input(place: path, message: "no connection with client messages to mutate") }
        return plans
    }

    public let seed: UInt64
    public let plans: [ReplayConnection]
    public let profile: Profile?
    /// Operators in use: schema ones only with a profile, and only the families asked for.
    public let enabled: [MutationOperator]

    /// Each plan's probe, made once.
    private let probes: [ReplayConnection.Step?]

    public init(seed: UInt64, plans: [ReplayConnection], profile: Profile? = nil, families: Set<MutationOperator.Family>? = nil) {
        self.seed = seed
        self.plans = plans
        probes = plans.map(Self.probe(for:))
        self.profile = profile
        enabled = Self.operators.filter { op in
            (families?.contains(op.family) ?? true) && (op.family != .schema || profile != nil)
        }
    }

    /// The id of the liveness probe a case sends last: an unmutated request whose answer shows the
    /// server still works after the mutations (no answer is a hang).
    public static let probeID = "basetap-probe"

    /// Case `index`: the same for the same seed and index, whatever ran before.
    public func makeCase(_ index: Int) -> FuzzCase {
        var random = FuzzRandom(seed: seed, case: index)
        let chosen = Int.random(in: 0..<plans.count, using: &random)
        let plan = plans[chosen]
        var steps = plan.steps
        var ops: [String] = []
        var types: [String] = []
        // One operator per case: a finding then names the operator that caused it, exactly.
        for _ in 0..<1 {
            let messages = steps.indices.filter { if case .message = steps[$0].action { true } else { false } }
            guard !messages.isEmpty, !enabled.isEmpty else { break }
            let target = random.pick(messages)
            let op = random.pick(enabled)
            let type = Self.type(of: steps[target])
            if apply(op, to: &steps, at: target, random: &random) {
                ops.append(op.name)
                types.append(type)
                if op.family != .session {
                    steps[target].mutation = CaptureRecord.Mutation(seed: seed &+ UInt64(index), ops: (steps[target].mutation?.ops ?? []) + [op.name])
                }
            }
        }
        var mutated = plan
        mutated.steps = steps
        Self.addProbe(probes[chosen], to: &mutated)
        return FuzzCase(index: index, seed: seed, plan: mutated, ops: ops, types: types)
    }

    /// Only the probe is waited for: mutated requests may rightly go unanswered, and the server
    /// handles a connection's messages in order, so the probe's answer says it got through them all.
    static func addProbe(_ probe: ReplayConnection.Step?, to plan: inout ReplayConnection) {
        plan.expected = []
        guard let probe else { return }
        let close = plan.steps.lastIndex { if case .close = $0.action { true } else { false } } ?? plan.steps.count
        plan.steps.insert(probe, at: close)
        plan.expected = [probeID]
    }

    static func type(of step: ReplayConnection.Step) -> String {
        guard case .message(_, let payload) = step.action else { return "(control)" }
        return ReplayConnection.envelope(of: payload).map { $0.type ?? "(no type)" } ?? "(not JSON)"
    }

    /// Applies `op` to step `target`; false when the operator has nothing to work on there.
    func apply(_ op: MutationOperator, to steps: inout [ReplayConnection.Step], at target: Int, random: inout FuzzRandom) -> Bool {
        guard case .message(let opcode, let payload) = steps[target].action else { return false }
        switch op.work {
        case .value(let change):
            guard var value = try? JSONValue(parsing: payload) else { return false }
            var context = MutationContext(random: random, profile: profile)
            guard change(&value, &context) else { return false }
            random = context.random
            steps[target].action = .message(opcode: opcode, payload: RawJSON.serialize(value, raw: context.raw))
        case .bytes(let change):
            var bytes = payload
            guard change(&bytes, &random) else { return false }
            steps[target].action = .message(opcode: opcode, payload: bytes)
        case .frames(let build):
            steps[target].action = .raw(build(payload, &random))
        case .session(let change):
            return change(&steps, target, &random)
        }
        return true
    }

    /// The first request the server answered in the recording, sent again under the probe id.
    static func probe(for plan: ReplayConnection) -> ReplayConnection.Step? {
        for step in plan.steps {
            guard case .message(let opcode, let payload) = step.action, let id = step.id, plan.expected.contains(id),
                var value = try? JSONValue(parsing: payload)
            else { continue }
            value[path: [.key("id")]] = .string(probeID)
            return ReplayConnection.Step(action: .message(opcode: opcode, payload: value.serialized()), id: probeID)
        }
        return nil
    }
}

/// One mutated session to run against the server.
public struct FuzzCase: Sendable {
    public var index: Int
    public var seed: UInt64
    public var plan: ReplayConnection
    /// The operators applied, in order, and the type of the message each one changed.
    public var ops: [String]
    public var types: [String]
}

import Foundation

/// Makes fuzz cases: a recorded connection with one of its client messages (or its order, its
/// upgrade request, or the connections around it) broken by a named operator, drawn from the run's
/// seed and the case's number, and from the seeds the server's answers added so far.
public struct Mutator: Sendable {
    public static let operators: [MutationOperator] =
        IDOperators.all + EnvelopeOperators.all + ValueOperators.all + FrameOperators.all + SchemaOperators.all
        + HandshakeOperators.all + ChurnOperators.all

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
    /// Each seed connection's probe, by connection, made once; nil where none is clean.
    public let probes: [String: ReplayConnection.Step]
    /// The upgrade request of a connection for a key, as the target gets it: what handshake operators change.
    private let requestHead: @Sendable (ReplayConnection, String) -> String
    /// Mutants that made the server do something new, mutated further in later cases.
    public private(set) var learned: [ReplayConnection] = []
    public static let maxLearned = 256

    public init(seed: UInt64, plans: [ReplayConnection], profile: Profile? = nil, families: Set<MutationOperator.Family>? = nil,
                requestHead: @escaping @Sendable (ReplayConnection, String) -> String) {
        self.seed = seed
        self.plans = plans
        self.requestHead = requestHead
        var probes: [String: ReplayConnection.Step] = [:]
        for plan in plans { probes[plan.conn] = Self.probe(for: plan) }
        self.probes = probes
        self.profile = profile
        enabled = Self.operators.filter { op in
            (families?.contains(op.family) ?? true) && (op.family != .schema || profile != nil)
        }
    }

    /// Keeps a mutant as a seed of its own (the probe taken out), up to `maxLearned`.
    public mutating func learn(_ plan: ReplayConnection) {
        guard learned.count < Self.maxLearned else { return }
        var plan = plan
        plan.steps.removeAll { $0.id == ReplayConnection.probeID }
        learned.append(plan)
    }

    /// Seed connection `plan` unmutated with its probe: a case's mutation reverted, or a baseline run.
    public func unmutated(_ conn: String) -> FuzzCase {
        var plan = plans.first { $0.conn == conn }!
        Self.addProbe(probes[conn], to: &plan)
        return FuzzCase(index: -1, seed: seed, plan: plan, ops: [], types: [])
    }

    /// Case `index`: the same for the same seed, index and learned seeds, whatever ran before.
    public func makeCase(_ index: Int) -> FuzzCase {
        var random = FuzzRandom(seed: seed, case: index)
        let fromLearned = !learned.isEmpty && random.chance(0.5)
        let plan = fromLearned ? random.pick(learned) : plans[Int.random(in: 0..<plans.count, using: &random)]
        var mutated = plan
        var ops = plan.steps.compactMap(\.mutation).flatMap(\.ops)
        var types: [String] = []
        var companions: [ReplayConnection] = []
        // One operator per case: a finding then names the operator that caused it, exactly.
        let messages = plan.steps.indices.filter { if case .message = plan.steps[$0].action { true } else { false } }
        if !messages.isEmpty, !enabled.isEmpty {
            let target = random.pick(messages)
            let op = random.pick(enabled)
            switch op.work {
            case .handshake(let change):
                let key = Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }).base64EncodedString()
                var lines = requestHead(plan, key).components(separatedBy: "\r\n").filter { !$0.isEmpty }
                if change(&lines, &random) {
                    mutated.rawHead = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
                    ops.append(op.name)
                    types.append("(upgrade request)")
                }
            case .churn(let make):
                companions = make(plan, &random)
                if !companions.isEmpty {
                    ops.append(op.name)
                    types.append("(connections)")
                }
            default:
                let type = Self.type(of: plan.steps[target])
                if apply(op, to: &mutated.steps, at: target, random: &random) {
                    ops.append(op.name)
                    types.append(type)
                    if op.family != .session {
                        mutated.steps[target].mutation = CaptureRecord.Mutation(seed: seed &+ UInt64(index), ops: (mutated.steps[target].mutation?.ops ?? []) + [op.name])
                    }
                }
            }
        }
        Self.addProbe(probes[plan.conn], to: &mutated)
        return FuzzCase(index: index, seed: seed, plan: mutated, companions: companions, ops: ops, types: types)
    }

    /// Only the probe is waited for: mutated requests may rightly go unanswered, and the server
    /// handles a connection's messages in order, so the probe's answer says it got through them all.
    static func addProbe(_ probe: ReplayConnection.Step?, to plan: inout ReplayConnection) {
        plan.expected = []
        guard let probe else { return }
        let close = plan.steps.lastIndex { if case .close = $0.action { true } else { false } } ?? plan.steps.count
        plan.steps.insert(probe, at: close)
        plan.expected = [ReplayConnection.probeID]
    }

    static func type(of step: ReplayConnection.Step) -> String {
        guard case .message(_, let payload) = step.action else { return "(control)" }
        return Envelope.peek(payload).map { $0.type.map { JSONReader.abbreviate($0, limit: 40) } ?? "(no type)" } ?? "(not JSON)"
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
        case .handshake, .churn:
            return false
        }
        return true
    }

    /// The probe: the first request of the connection whose recorded answer was clean (not an
    /// `:error`, not `ok: false`, no error-level violation), itself no `:error`, sent again under
    /// the probe id. A probe whose own answer is a failure would prove nothing.
    static func probe(for plan: ReplayConnection) -> ReplayConnection.Step? {
        var broken = Set<Int>()
        var index = 0
        var checker = CaptureChecker { violation in
            if violation.dir == .s2c, violation.severity == .error, let index = violation.index { broken.insert(index) }
        }
        var answers: [String: (index: Int, payload: [UInt8])] = [:]
        for record in plan.recorded {
            try? checker.consume(record)
            guard record.dir == .s2c, record.kind.isMessage else { continue }
            if let id = Envelope.peek(record.payload)?.id, answers[id] == nil { answers[id] = (index, record.payload) }
            index += 1
        }
        for step in plan.steps {
            guard case .message(let opcode, let payload) = step.action, let id = step.id, let answer = answers[id], !broken.contains(answer.index),
                let request = try? JSONValue(parsing: payload), let reply = try? JSONValue(parsing: answer.payload),
                request["type"]?.stringValue.map({ !$0.hasSuffix(":error") }) ?? false,
                reply["type"]?.stringValue.map({ !$0.hasSuffix(":error") }) ?? false, reply["ok"] != .bool(false)
            else { continue }
            var probe = request
            probe[path: [.key("id")]] = .string(ReplayConnection.probeID)
            return ReplayConnection.Step(action: .message(opcode: opcode, payload: probe.serialized()), id: ReplayConnection.probeID)
        }
        return nil
    }
}

/// One mutated session to run against the server.
public struct FuzzCase: Sendable {
    public var index: Int
    public var seed: UInt64
    public var plan: ReplayConnection
    /// Connections run together before `plan` (the churn family).
    public var companions: [ReplayConnection] = []
    /// The operators applied (a learned seed's first), and the type of the message each one changed.
    public var ops: [String]
    public var types: [String]

    /// The case breaks the upgrade request: refusing it is the server's right, so only a server
    /// that dies or stops accepting connections is a finding.
    public var breaksHandshake: Bool { plan.rawHead != nil }

    /// Data messages the case sends, on all its connections.
    public var messages: Int { ([plan] + companions).reduce(0) { $0 + $1.steps.filter(\.isMessage).count } }
}

/// Many connections at once, for what only connection churn finds: races on a server's connection
/// table, a close racing a read, ids reused by parallel connections. The connections a case makes
/// run together before the case's own (unmutated) connection, whose probe then shows whether the
/// server survived. Bounded: at most 48 connections a case, and only against loopback targets.
enum ChurnOperators {
    static func op(_ name: String, _ make: @escaping @Sendable (ReplayConnection, inout FuzzRandom) -> [ReplayConnection]) -> MutationOperator {
        MutationOperator(name, .churn, .churn(make))
    }

    /// A connection of the seed's with these steps only, answers not waited for.
    static func companion(_ plan: ReplayConnection, _ n: Int, _ steps: [ReplayConnection.Step]) -> ReplayConnection {
        var companion = plan
        companion.conn = "\(plan.conn).\(n + 1)"
        companion.steps = steps
        companion.expected = []
        return companion
    }

    static let all: [MutationOperator] = [
        op("churn.storm") { plan, random in
            (0..<random.pick([16, 32, 48])).map { companion(plan, $0, [.init(action: .close(code: 1000, reason: nil))]) }
        },
        op("churn.drop-storm") { plan, random in
            (0..<random.pick([16, 32, 48])).map { companion(plan, $0, [.init(action: .disconnect)]) }
        },
        op("churn.close-mid-message") { plan, random in
            guard case .message(let opcode, let payload)? = plan.steps.first(where: \.isMessage)?.action else { return [] }
            let frame = FrameEncoder.encode(WebSocketFrame(opcode: opcode, maskKey: FrameEncoder.randomMask(using: &random), payload: payload))
            let half = Array(frame.prefix(max(1, frame.count / 2)))
            return (0..<random.pick([4, 8, 16])).map { companion(plan, $0, [.init(action: .raw(half)), .init(action: .disconnect)]) }
        },
        op("churn.parallel-ids") { plan, random in
            (0..<random.pick([4, 8, 16])).map { companion(plan, $0, plan.steps) }
        },
    ]
}

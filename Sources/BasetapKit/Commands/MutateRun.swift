/// `basetap mutate`: the fuzzer's cases written to a capture instead of sent, one connection per
/// variant (m1, m2…), each changed message marked with its `mutation`. The records are made by the
/// same decoder as a live session's, so frame mutations show as the frames they are, and
/// `basetap replay` can send them.
public struct MutateRun {
    public var capture: String
    public var seed: UInt64 = 1
    public var count = 10
    public var output = "-"
    public var profile: Profile?
    public var families: Set<MutationOperator.Family>?

    public init(capture: String) {
        self.capture = capture
    }

    /// Returns how many variants were written.
    @discardableResult
    public func run() throws -> Int {
        let plans = try Mutator.seedPlans(capture)
        // Handshake and churn cases are about a live server's answers to connections: nothing to write.
        let written = (families ?? Set(MutationOperator.Family.allCases)).filter { !$0.isLiveOnly }
        let target = ProxyTarget(host: "server.invalid", port: 80)
        let mutator = Mutator(seed: seed, plans: plans, profile: profile, families: written) { plan, key in
            plan.requestHead(target: target, path: nil, extra: [], key: key)
        }
        let writer = try JSONLCaptureWriter(path: output)
        let endpoint = Endpoint(address: [127, 0, 0, 1], port: 0)
        for index in 0..<count {
            var fuzzCase = mutator.makeCase(index)
            fuzzCase.plan.steps.removeAll { $0.id == ReplayConnection.probeID }
            let sink = CollectingSink()
            let decoder = WebSocketTap(conn: "m\(index + 1)", client: endpoint, server: endpoint, limits: InflateLimits(), maxFrameSize: InflateLimits.defaultMaxSize)
            var random = FuzzRandom(seed: seed, case: index)
            var reader = HTTPHeadReader()
            let requestHead = fuzzCase.plan.requestHead(target: target, path: nil, extra: [], key: "dGhlIHNhbXBsZSBub25jZQ==")
            guard case .head(let head, _) = reader.feed(Array(requestHead.utf8)) else { preconditionFailure("a request head basetap wrote") }
            // Never sent to a server: the variant starts as if its upgrade had been accepted as asked.
            try decoder.startWebSocket(request: head, subprotocol: nil, extensions: nil, timestamp: 0, sink: sink)
            for (n, step) in fuzzCase.plan.steps.enumerated() {
                let before = sink.records.count
                try decoder.data(.c2s, step.wireBytes(using: &random), timestamp: Int64(n) * 1_000_000, sink: sink)
                if let mutation = step.mutation {
                    for i in before..<sink.records.count { sink.records[i].mutation = mutation }
                }
            }
            // No `end`: a variant was never run, and replay compares no close with it.
            for record in sink.records { try writer.write(record) }
        }
        try writer.close()
        return count
    }
}

import Testing
@testable import BasetapKit

@Suite struct ChainTrackerTests {
    @Test func anErrorAnsweringARequestOfTheSameTypeIsClean() {
        var chain = ChainTracker()
        #expect(chain.observe(.c2s, id: "1", type: "chat.send") == nil)
        #expect(chain.observe(.s2c, id: "1", type: "chat.send:error") == nil)
    }

    @Test func typeMismatchNamesTheRequestType() {
        var chain = ChainTracker()
        _ = chain.observe(.c2s, id: "1", type: "chat.send")
        let finding = chain.observe(.s2c, id: "1", type: "room.join:error")
        #expect(finding?.rule == .chainTypeMismatch)
        #expect(finding?.pointer == "/type")
        #expect(finding?.message.contains("\"chat.send\"") == true)
    }

    @Test func anErrorForAnIDTheOtherSideNeverSentIsUnknown() {
        var chain = ChainTracker()
        _ = chain.observe(.s2c, id: "1", type: "push")
        // The server's own request does not count: the error must answer the other side.
        #expect(chain.observe(.s2c, id: "1", type: "push:error")?.rule == .chainUnknownID)
        #expect(chain.observe(.c2s, id: "1", type: "push:error") == nil)
    }

    @Test func errorsAreMatchedAgainstEarlierAnsweredRequestsToo() {
        var chain = ChainTracker()
        _ = chain.observe(.c2s, id: "1", type: "a")
        _ = chain.observe(.s2c, id: "1", type: "a")
        #expect(chain.observe(.s2c, id: "1", type: "b:error")?.rule == .chainTypeMismatch)
    }

    @Test func reusingAnUnansweredIDForAnotherTypeIsAWarning() {
        var chain = ChainTracker()
        _ = chain.observe(.c2s, id: "1", type: "a")
        #expect(chain.observe(.c2s, id: "1", type: "a") == nil)
        let finding = chain.observe(.c2s, id: "1", type: "b")
        #expect(finding?.rule == .chainIDReuse)
        #expect(finding?.severity == .warning)
    }

    @Test func reusingAnAnsweredIDIsFine() {
        var chain = ChainTracker()
        _ = chain.observe(.c2s, id: "1", type: "a")
        _ = chain.observe(.s2c, id: "1", type: "a")
        #expect(chain.observe(.c2s, id: "1", type: "b") == nil)
    }

    @Test func memoryIsBoundedAndEvictionsAreCounted() {
        var chain = ChainTracker(limit: 100)
        for i in 0..<1000 { _ = chain.observe(.c2s, id: "r\(i)", type: "t") }
        #expect(chain.evicted == 900)
        // The oldest were forgotten: an error for r0 no longer matches; r999 still does.
        #expect(chain.observe(.s2c, id: "r0", type: "x:error")?.rule == .chainUnknownID)
        #expect(chain.observe(.s2c, id: "r999", type: "x:error")?.rule == .chainTypeMismatch)
    }

    @Test func reusingOneIDForeverStaysBounded() {
        var chain = ChainTracker(limit: 10)
        for _ in 0..<100_000 { _ = chain.observe(.c2s, id: "same", type: "t") }
        #expect(chain.evicted == 0)
        #expect(chain.observe(.s2c, id: "same", type: "t:error") == nil)
    }

    /// §5 as plainly as it can be said: a dictionary per side and the oldest live request found by
    /// its sequence number. The tracker must agree with it on every finding and every eviction.
    struct Reference {
        let limit: Int
        var requests: [Direction: [String: (type: String, answered: Bool, sequence: Int)]] = [.c2s: [:], .s2c: [:]]
        var sequence = 0
        var evicted = 0

        mutating func observe(_ dir: Direction, id: String, type: String) -> RuleID? {
            let theirs = dir.opposite
            switch MessageType(type) {
            case .bareError:
                return nil
            case .error(answering: let requested):
                guard let request = requests[theirs]![id] else { return Rule.chainUnknownID.id }
                requests[theirs]![id]!.answered = true
                return request.type == requested ? nil : Rule.chainTypeMismatch.id
            case .plain:
                break
            }
            if requests[theirs]![id] != nil {
                requests[theirs]![id]!.answered = true
                return nil
            }
            sequence += 1
            let previous = requests[dir]![id]
            requests[dir]![id] = (type, false, sequence)
            while requests[.c2s]!.count + requests[.s2c]!.count > limit {
                let oldest = [Direction.c2s, .s2c].flatMap { side in requests[side]!.map { (side, $0.key, $0.value.sequence) } }.min { $0.2 < $1.2 }!
                requests[oldest.0]![oldest.1] = nil
                evicted += 1
            }
            if let previous, !previous.answered, previous.type != type { return Rule.chainIDReuse.id }
            return nil
        }
    }
    typealias RuleID = String

    @Test(arguments: [1, 3, 17, 64])
    func agreesWithThePlainModel(limit: Int) {
        var random = FuzzRandom(seed: UInt64(limit))
        var chain = ChainTracker(limit: limit)
        var reference = Reference(limit: limit)
        let types = ["a", "b", "a:error", "b:error", ":error"]
        for step in 0..<40_000 {
            let dir: Direction = random.next() % 2 == 0 ? .c2s : .s2c
            // Few ids, so that they are reused, answered, superseded and forgotten in every order.
            let id = "id\(random.next() % UInt64(limit * 3 + 2))"
            let type = types[Int(random.next() % UInt64(types.count))]
            let found = chain.observe(dir, id: id, type: type)?.rule.id
            let expected = reference.observe(dir, id: id, type: type)
            if found != expected {
                Issue.record("step \(step): \(dir) \(id) \(type): \(found ?? "nil") where the model says \(expected ?? "nil")")
                return
            }
        }
        #expect(chain.evicted == reference.evicted)
        #expect(reference.evicted > 0)
    }
}


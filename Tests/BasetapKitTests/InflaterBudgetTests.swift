import Testing
@testable import BasetapKit

/// Inflaters with context takeover put to sleep and woken again read the next message as if they
/// had stayed awake; asleep they hold their window, never more than they produced.
@Suite struct InflaterBudgetTests {
    @Test func sleepingInflatersWakeWithTheirWindows() throws {
        let budget = InflaterBudget(limit: 2)
        let streams = (0..<5).map { n in (0..<6).map { #"{"id":"\#(n)-\#($0)","type":"chat.send","payload":{"text":"hello hello hello"}}"# } }
        let compressed = try streams.map { try deflate($0, takeover: true) }
        let inflaters = streams.map { _ in MessageInflater(noContextTakeover: false, budget: budget) }
        #expect(inflaters.allSatisfy { !$0.isAwake }, "nothing is allocated before the first compressed message")
        for message in 0..<6 {
            for (n, inflater) in inflaters.enumerated() {
                #expect(String(decoding: try inflater.inflate(compressed[n][message]), as: UTF8.self) == streams[n][message])
                #expect(budget.awake <= 2)
            }
        }
        #expect(budget.putToSleep >= 5 * 6 - 2)
        let asleep = inflaters.filter { !$0.isAwake }
        #expect(asleep.count == 3)
        #expect(asleep.allSatisfy { $0.windowBytes > 0 && $0.windowBytes <= streams[0].joined().utf8.count + 60 })
    }

    @Test func anInflaterThatGoesAwayLeavesItsPlace() throws {
        let budget = InflaterBudget(limit: 1)
        let message = try deflate(["{}"], takeover: true)[0]
        do {
            let gone = MessageInflater(noContextTakeover: false, budget: budget)
            _ = try gone.inflate(message)
            #expect(budget.awake == 1)
        }
        #expect(budget.awake == 0)
        let next = MessageInflater(noContextTakeover: true, budget: budget)
        #expect(try next.inflate(message) == Array("{}".utf8))
        #expect(budget.putToSleep == 0)
    }

    /// A message that ends in a final block (BFINAL, which RFC 7692 allows) still leaves its
    /// window to the next one. Python's zlib made both: the second is "hello" as a back-reference
    /// into the first (`compressobj(wbits=-15, zdict=first)`, then `Z_FINISH`).
    @Test func aFinalBlockKeepsTheWindow() throws {
        let inflater = MessageInflater(noContextTakeover: false)
        #expect(try inflater.inflate([203, 72, 205, 201, 201, 87, 200, 64, 144, 0]) == Array("hello hello hello".utf8))
        #expect(try inflater.inflate([3, 19, 0]) == Array("hello".utf8))
    }
}

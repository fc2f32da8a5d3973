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
}

import Testing
@testable import BasetapKit

@Suite struct TCPStreamReassemblerTests {
    private func data(_ events: [TCPStreamReassembler.Event]) -> [UInt8] {
        events.flatMap { if case .data(let d) = $0 { return d } else { return [] } }
    }

    @Test func deliversInOrderAndWaitsForMissingSegments() {
        var r = TCPStreamReassembler()
        r.syn(99)
        #expect(data(r.segment(100, [1, 2, 3])) == [1, 2, 3])
        #expect(r.segment(106, [7, 8]).isEmpty)
        #expect(data(r.segment(103, [4, 5, 6])) == [4, 5, 6, 7, 8])
        #expect(r.delivered == 8)
    }

    @Test func identicalRetransmissionsAreSilentAndConflictingOnesReported() {
        var r = TCPStreamReassembler()
        r.syn(0)
        _ = r.segment(1, Array("hello world".utf8))
        #expect(r.segment(1, Array("hello".utf8)).isEmpty)
        #expect(r.segment(7, Array("WORLD!".utf8)) == [.conflict(offset: 6, length: 5), .data(Array("!".utf8))])
    }

    /// An idle client's keep-alive probes: one garbage byte at next-sequence − 1, again and again.
    @Test func keepAliveProbesAreNoConflict() {
        var r = TCPStreamReassembler()
        r.syn(0)
        _ = r.segment(1, Array("hello".utf8))
        #expect(r.segment(5, [0x00]).isEmpty, "the probe's byte differs from the 'o' it repeats")
        #expect(r.segment(5, [0x00]).isEmpty)
        #expect(data(r.segment(6, Array(" world".utf8))) == Array(" world".utf8), "the stream goes on")
        #expect(r.segment(10, Array("R".utf8)) == [.conflict(offset: 9, length: 1)], "an earlier byte, changed, still is one")
    }

    @Test func overlappingOutOfOrderSegmentsKeepTheFirstCopy() {
        var r = TCPStreamReassembler()
        r.syn(0)
        _ = r.segment(5, [5, 6, 7])
        let events = r.segment(3, [3, 4, 9, 9, 9, 10])
        #expect(events == [.conflict(offset: 4, length: 3)])
        #expect(data(r.segment(1, [1, 2])) == [1, 2, 3, 4, 5, 6, 7, 10])
    }

    @Test func aHoleThatNeverFillsIsAGapWithItsSize() {
        var r = TCPStreamReassembler()
        r.syn(0)
        _ = r.segment(1, [1])
        _ = r.segment(11, [11, 12])
        #expect(r.finish() == [.gap(offset: 1, missing: 9), .data([11, 12])])
    }

    @Test func boundedBufferingDeclaresTheGapEarly() {
        var r = TCPStreamReassembler(maxPendingBytes: 4)
        r.syn(0)
        #expect(r.segment(100, [1, 2, 3]).isEmpty)
        let events = r.segment(103, [4, 5])
        #expect(events.first == .gap(offset: 0, missing: 99))
        #expect(data(events) == [1, 2, 3, 4, 5])
    }

    @Test func sequenceNumbersWrapAround() {
        var r = TCPStreamReassembler()
        r.syn(UInt32.max - 2)
        #expect(data(r.segment(UInt32.max - 1, [1, 2])) == [1, 2])
        #expect(data(r.segment(0, [3, 4])) == [3, 4])
    }

    @Test func aStreamWithoutSYNStartsAtItsFirstSegment() {
        var r = TCPStreamReassembler()
        #expect(data(r.segment(5000, [1, 2])) == [1, 2])
        #expect(data(r.segment(5002, [3])) == [3])
    }
}

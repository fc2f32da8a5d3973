/// Where the taps of a share of a pcap's connections send what they find, and what they count.
/// One thread at a time works for it; a decode on one thread has one.
final class TapWorker: @unchecked Sendable {
    let sink: TapSink
    /// Bounds the zlib states this worker's taps keep awake.
    let inflaters: InflaterBudget
    /// What the taps counted (connections, messages, gaps…), merged as each connection ends.
    var summary = DecodeSummary()

    init(sink: TapSink, maxAwakeInflaters: Int) {
        self.sink = sink
        inflaters = InflaterBudget(limit: maxAwakeInflaters)
    }

    /// One step of one connection, as the decoder met it; `sequence` orders the output of steps run
    /// on different workers as one worker would have written it.
    struct Work {
        enum Step {
            case segment(Direction, [TCPStreamReassembler.Event], payloadBytes: Int)
            case end(PerDirection<[TCPStreamReassembler.Event]>, error: String?, droppedBy: Direction?)
        }

        var sequence: Int
        var tap: FlowTap
        var step: Step
        var timestamp: Int64
    }

    func run(_ work: Work) throws {
        switch work.step {
        case .segment(let dir, let events, let payloadBytes):
            try work.tap.segment(dir, events, payloadBytes: payloadBytes, timestamp: work.timestamp, on: self)
        case .end(let rest, let error, let droppedBy):
            try work.tap.end(rest, error: error, droppedBy: droppedBy, timestamp: work.timestamp, on: self)
        }
    }
}

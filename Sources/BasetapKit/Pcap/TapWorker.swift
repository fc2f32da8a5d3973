/// Where the taps of a decoder's connections send what they find, and what they count.
final class TapWorker {
    let sink: TapSink
    /// Bounds the zlib states this worker's taps keep awake.
    let inflaters: InflaterBudget
    /// What the taps counted (connections, messages, gaps…), merged as each connection ends.
    var summary = DecodeSummary()
    /// Called after each piece of work: output made by several decoders is put in order by it.
    var afterWork: ((Work) -> Void)?

    init(sink: TapSink, maxAwakeInflaters: Int) {
        self.sink = sink
        inflaters = InflaterBudget(limit: maxAwakeInflaters)
    }

    /// One step of one connection, as the decoder met it: `sequence` is the packet's number (past
    /// the last packet for the connections the file's end finishes, in the order of their ids).
    struct Work {
        enum Step {
            case segment(Direction, [TCPStreamReassembler.Event])
            case end(PerDirection<[TCPStreamReassembler.Event]>, error: String?, droppedBy: Direction?)
        }

        var sequence: Int
        var tap: FlowTap
        var step: Step
        var timestamp: Int64
    }

    func run(_ work: Work) throws {
        switch work.step {
        case .segment(let dir, let events):
            try work.tap.segment(dir, events, timestamp: work.timestamp, on: self)
        case .end(let rest, let error, let droppedBy):
            try work.tap.end(rest, error: error, droppedBy: droppedBy, timestamp: work.timestamp, on: self)
        }
        afterWork?(work)
    }
}

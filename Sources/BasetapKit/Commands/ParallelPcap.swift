import Foundation

/// `check --jobs N` and `decode --jobs N` on pcap and pcapng files. Each of N decoders reads every
/// packet and follows the TCP connections whose addresses and ports hash to it, from reassembly to
/// the checker or the record writer behind its sink: reading the packets is the small part of the
/// work, and this way nothing crosses threads. After each round of packets, what the decoders
/// wrote is put in the order one decoder would have written it (packet by packet, and at the
/// file's end connection by connection): the output is the same bytes.
struct ParallelPcap {
    /// What a decoder's sink writes, and after each piece of work that wrote something, the work's
    /// place in the file and where its bytes end.
    final class Output: @unchecked Sendable {
        var bytes: [UInt8] = []
        var marks: [(sequence: Int, conn: String, end: Int)] = []
    }

    let options: PcapDecoder.Options
    /// Each decoder's worker and output: the worker's sink writes to the output.
    let workers: [TapWorker]
    let outputs: [Output]

    /// One decoder per sink; the decoders share the budget of zlib states kept awake.
    init(options: PcapDecoder.Options, sinks: [TapSink], outputs: [Output]) {
        self.options = options
        workers = sinks.map { TapWorker(sink: $0, maxAwakeInflaters: max(1, options.maxAwakeInflaters / sinks.count)) }
        self.outputs = outputs
    }
    /// Packets per round: enough to keep the decoders busy, few enough to keep the output small.
    static let packetsPerRound = 8192

    /// Decodes `paths` in order. `write` gets the output in order, `progress` the packets read so
    /// far of the file, `done` each file's summary once its last connection has ended.
    func run(
        _ paths: [String], write: ([UInt8]) throws -> Void, progress: ((String, Int) -> Void)?,
        done: (String, DecodeSummary) throws -> Void
    ) throws {
        for (worker, output) in zip(workers, outputs) {
            worker.afterStep = { sequence, conn in
                if output.marks.last?.end ?? 0 != output.bytes.count { output.marks.append((sequence, conn, output.bytes.count)) }
            }
        }
        for path in paths {
            // The workers, and the checkers behind them, go from file to file; the decoders are the file's.
            let decoders = Box(workers.indices.map { PcapDecoder(worker: workers[$0], options: options, share: ($0, workers.count)) })
            for decoder in decoders.value { try decoder.open(path: path) }
            var reading = true
            while reading {
                // Every decoder reads the same packets, so all end (or fail) at the same one.
                let read = try round(decoders) { try $0.read(packets: Self.packetsPerRound) }
                try writeOutputs(write)
                reading = read
                progress?(path, decoders.value[0].summary.packets)
            }
            _ = try round(decoders) { try $0.finishAll() }
            try writeOutputs(write)
            let summaries = decoders.value.map { $0.finishedSummary() }
            try done(path, summaries.dropFirst().reduce(summaries[0]) { $0.joined(with: $1) })
        }
    }

    /// Runs `body` on every decoder at once; the first decoder's result, or the error of the first
    /// that failed.
    private func round<R>(_ decoders: Box<[PcapDecoder]>, _ body: @escaping @Sendable (PcapDecoder) throws -> R) throws -> R {
        for output in outputs {
            output.bytes.removeAll(keepingCapacity: true)
            output.marks.removeAll(keepingCapacity: true)
        }
        let results = decoders.value.map { _ in Box<Result<R, Error>?>(nil) }
        DispatchQueue.concurrentPerform(iterations: decoders.value.count) { i in
            results[i].value = Result { try body(decoders.value[i]) }
        }
        for result in results { if case .failure(let error)? = result.value { throw error } }
        return try results[0].value!.get()
    }

    /// The round's output in order; a piece of work's output all comes from one decoder.
    private func writeOutputs(_ write: ([UInt8]) throws -> Void) throws {
        var pieces: [(sequence: Int, conn: String, output: Int, start: Int, end: Int)] = []
        for (index, output) in outputs.enumerated() {
            var start = 0
            for mark in output.marks {
                pieces.append((mark.sequence, mark.conn, index, start, mark.end))
                start = mark.end
            }
        }
        guard !pieces.isEmpty else { return }
        pieces.sort { ($0.sequence, $0.conn, $0.start) < ($1.sequence, $1.conn, $1.start) }
        var joined: [UInt8] = []
        joined.reserveCapacity(outputs.reduce(0) { $0 + $1.bytes.count })
        for piece in pieces { joined.append(contentsOf: outputs[piece.output].bytes[piece.start..<piece.end]) }
        try write(joined)
    }

    /// What a round's threads are given: each decoder, and each result, is used by one thread at
    /// a time, and read by the calling thread once the round is over.
    private final class Box<Value>: @unchecked Sendable {
        var value: Value
        init(_ value: Value) { self.value = value }
    }
}

extension DecodeSummary {
    /// The summary of one file that two decoders read, each following its own connections: the
    /// packets are counted by both, the connections by one.
    func joined(with other: DecodeSummary) -> DecodeSummary {
        var sum = self
        sum.merge(other)
        sum.tcpStreams += other.tcpStreams
        sum.midstreamSkipped += other.midstreamSkipped
        return sum
    }
}

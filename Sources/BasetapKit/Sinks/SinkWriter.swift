import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The one writer of every output the proxy has: findings and the message log (standard output),
/// notes (standard error), the JSONL recording and the pcap file. Connections decode, check and
/// encode on their own event loops and hand over finished bytes, one batch per socket read; this
/// thread alone writes them, so no two threads ever share a file's buffer and lines never mix.
///
/// Bytes handed over but not written yet are counted: past `highWater` connections stop reading
/// until the writer is under `lowWater` again, so a slow disk slows the relay instead of losing
/// records or growing memory.
final class SinkWriter: @unchecked Sendable {
    /// What one connection produced in one go.
    struct Batch {
        var output: [UInt8] = []
        var messages: [UInt8] = []
        var records: [UInt8] = []
        var recordCount = 0
        var packets: [(packet: [UInt8], timestamp: Int64)] = []
        var packetBytes = 0
        var counts = Counts()
        /// Records and violations for the web inspector, in the order they were found.
        var inspected: [Inspected] = []

        var isEmpty: Bool { output.isEmpty && messages.isEmpty && records.isEmpty && packets.isEmpty && counts.isEmpty && inspected.isEmpty }
        var size: Int { output.count + messages.count + records.count + packetBytes }
    }

    enum Inspected {
        case record(CaptureRecord)
        case violation(Violation)
    }

    /// Live numbers for `--metrics` and the summary, merged from the batches.
    struct Counts: Sendable {
        var bytes = PerDirection(repeating: 0)
        var messages = PerDirection(repeating: 0)
        var violations: [CheckSummary.RuleCount: Int] = [:]
        var nonWebSocket = 0
        var isEmpty: Bool { bytes == .init(repeating: 0) && messages == .init(repeating: 0) && violations.isEmpty && nonWebSocket == 0 }

        mutating func merge(_ other: Counts) {
            for dir in Direction.allCases {
                bytes[dir] &+= other.bytes[dir]
                messages[dir] &+= other.messages[dir]
            }
            violations.merge(other.violations, uniquingKeysWith: +)
            nonWebSocket += other.nonWebSocket
        }
    }

    static let highWater = 32 << 20
    static let lowWater = 8 << 20
    /// How long a record or packet waits in a recording's buffer at most: a reader following the
    /// file (`tail -f`, a test) sees the session as it goes, and a proxy killed outright loses no
    /// more, while a busy proxy still writes in large pieces.
    static let flushDelay = TimeAmount.milliseconds(10)

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var loop: EventLoop { group.next() }
    private let output: OutputFile
    private let messages: OutputFile
    private let recorder: JSONLCaptureWriter?
    private let pcap: PcapWriter?
    private let recordPath: String?
    private let pcapPath: String?
    private let onRecordError: @Sendable (String) -> Void
    /// The web inspector's store, fed in order with everything written (`--ui`).
    let inspector: (any InspectionSink)?

    // Touched only on the writer's thread.
    private var counts = Counts()
    private var checkSummary = CheckSummary()
    private var decodeSummary = DecodeSummary()
    private var recordsWritten = 0
    private var recordError: String?
    private var flushScheduled = false

    private struct Backlog {
        var bytes = 0
        var waiting: [@Sendable () -> Void] = []
    }
    private let backlog = NIOLockedValueBox(Backlog())
    /// Kept once the thread is gone.
    private let finalTotals = NIOLockedValueBox<Totals?>(nil)

    init(output: OutputFile, messages: OutputFile, record: String?, pcap: String?, inspector: (any InspectionSink)? = nil,
         onRecordError: @escaping @Sendable (String) -> Void) throws {
        self.output = output
        self.inspector = inspector
        self.messages = messages
        recordPath = record
        pcapPath = pcap
        self.onRecordError = onRecordError
        recorder = try record.map { try JSONLCaptureWriter(path: $0) }
        self.pcap = try pcap.map { try PcapWriter(path: $0) }
    }

    func submit(_ batch: Batch) {
        guard !batch.isEmpty else { return }
        let size = batch.size
        backlog.withLockedValue { $0.bytes += size }
        loop.execute { [self] in
            write(batch)
            drained(size)
        }
    }

    /// A line for standard error, in order with everything else this writer has been given.
    func note(_ text: String) {
        var batch = Batch()
        batch.messages = Array("basetap: \(text)\n".utf8)
        submit(batch)
    }

    /// A connection is over: its summaries join the run's.
    func finished(check: CheckSummary, decode: DecodeSummary) {
        loop.execute { [self] in
            checkSummary = checkSummary + check
            decodeSummary.merge(decode)
            decodeSummary.tcpStreams += 1
        }
    }

    var backlogBytes: Int { backlog.withLockedValue { $0.bytes } }

    var isBacklogged: Bool { backlog.withLockedValue { $0.bytes > Self.highWater } }

    /// Runs `resume` once the backlog is under the low-water mark and returns true, or returns
    /// false at once when the backlog is fine.
    func whenBelowLowWater(_ resume: @escaping @Sendable () -> Void) -> Bool {
        backlog.withLockedValue { backlog in
            guard backlog.bytes > Self.highWater else { return false }
            backlog.waiting.append(resume)
            return true
        }
    }

    private func drained(_ size: Int) {
        let ready = backlog.withLockedValue { backlog -> [@Sendable () -> Void] in
            backlog.bytes -= size
            guard backlog.bytes < Self.lowWater, !backlog.waiting.isEmpty else { return [] }
            defer { backlog.waiting.removeAll() }
            return backlog.waiting
        }
        for resume in ready { resume() }
    }

    private func write(_ batch: Batch) {
        counts.merge(batch.counts)
        if let inspector {
            for item in batch.inspected {
                switch item {
                case .record(let record): inspector.add(record)
                case .violation(let violation): inspector.add(violation)
                }
            }
        }
        if let recorder, !batch.records.isEmpty, recordError == nil {
            do {
                try recorder.writeEncoded(batch.records)
                recordsWritten += batch.recordCount
            } catch {
                failed(error, recordPath)
            }
        }
        if let pcap, recordError == nil {
            do {
                for (packet, timestamp) in batch.packets { try pcap.write(ipPacket: packet, timestamp: timestamp) }
            } catch {
                failed(error, pcapPath)
            }
        }
        if !flushScheduled && (!batch.records.isEmpty && recorder != nil || !batch.packets.isEmpty && pcap != nil) {
            flushScheduled = true
            loop.scheduleTask(in: Self.flushDelay) { [self] in
                flushScheduled = false
                guard recordError == nil else { return }
                do { try recorder?.flush() } catch { failed(error, recordPath) }
                do { try pcap?.flush() } catch { failed(error, pcapPath) }
            }
        }
        if !batch.output.isEmpty {
            try? output.write(batch.output)
            try? output.flush()
        }
        if !batch.messages.isEmpty {
            try? messages.write(batch.messages)
            try? messages.flush()
        }
    }

    /// The first failure to write a recording is kept for the exit status and reported once.
    private func failed(_ error: Error, _ path: String?) {
        guard recordError == nil else { return }
        recordError = "\(path ?? "recording"): \(error)"
        onRecordError(recordError!)
    }

    struct Totals: Sendable {
        var check: CheckSummary
        var decode: DecodeSummary
        var counts: Counts
        var recordsWritten: Int
        var recordError: String?
    }

    /// What has been written so far (for metrics, while the proxy runs).
    func totals() -> Totals {
        finalTotals.withLockedValue { $0 } ?? onWriter { $0.snapshot }
    }

    /// Writes everything queued, closes the recordings and stops the thread.
    func finish() -> Totals {
        let totals = onWriter { writer in
            do { try writer.recorder?.close() } catch { writer.failed(error, writer.recordPath) }
            do { try writer.pcap?.close() } catch { writer.failed(error, writer.pcapPath) }
            try? writer.output.flush()
            return writer.snapshot
        }
        finalTotals.withLockedValue { $0 = totals }
        try? group.syncShutdownGracefully()
        return totals
    }

    private var snapshot: Totals {
        Totals(check: checkSummary, decode: decodeSummary, counts: counts, recordsWritten: recordsWritten, recordError: recordError)
    }

    /// Runs `body` on the writer's thread after everything queued before it, and waits for it.
    private func onWriter(_ body: @escaping @Sendable (SinkWriter) -> Totals) -> Totals {
        do {
            return try loop.submit { [self] in body(self) }.wait()
        } catch {
            return Totals(check: CheckSummary(), decode: DecodeSummary(), counts: Counts(), recordsWritten: 0)
        }
    }
}

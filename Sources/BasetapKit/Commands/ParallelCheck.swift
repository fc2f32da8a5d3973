import Foundation

/// `check --jobs N` on JSONL captures. Connections are independent, so the lines are read in
/// blocks, each connection's lines go to one of N workers (always the same one, so that a
/// connection's lines stay in order in one checker), the workers check a block at once while the
/// next block is read, and their findings are written in line order: the output, the summary and
/// the errors are byte for byte what a single checker gives.
struct ParallelCheck {
    let jobs: Int
    let options: CheckOptions
    let filter: MessageFilter?
    let formatter: ViolationFormatter
    let quiet: Bool
    let skipBadLines: Bool

    static let blockBytes = 2 << 20
    static let blockLines = 16_384

    /// The lines of a block, copied out of the reader, and the worker each goes to.
    private final class Block: @unchecked Sendable {
        var bytes: [UInt8] = []
        var starts: [Int] = []
        var numbers: [Int] = []
        var workers: [Int] = []
        var bytesRead = 0

        var isEmpty: Bool { numbers.isEmpty }

        func clear() {
            bytes.removeAll(keepingCapacity: true)
            starts = [0]
            numbers.removeAll(keepingCapacity: true)
            workers.removeAll(keepingCapacity: true)
        }

        func line(_ k: Int) -> Range<Int> { starts[k]..<starts[k + 1] }
    }

    /// One job's checker and what it found in the current block; only its own thread touches it.
    private final class Worker: @unchecked Sendable {
        let index: Int
        var parser = CaptureLineParser()
        var checker: CaptureChecker!
        var selection: FilteredViolations?
        /// Formatted findings of the block, and after each line that had some, (line number, end offset).
        var out: [UInt8] = []
        var marks: [(line: Int, end: Int)] = []
        var bad = 0
        var firstBad: (line: Int, text: String)?
        /// The first malformed line when lines are not skipped: checking stops there.
        var failure: (line: Int, error: BasetapError)?

        init(index: Int, run: ParallelCheck) {
            self.index = index
            let formatter = run.formatter, quiet = run.quiet
            let print: (Violation) -> Void = { [unowned self] violation in
                if !quiet { formatter.append(violation, into: &out) }
            }
            selection = run.filter.map { FilteredViolations(filter: $0, report: print) }
            checker = CaptureChecker(options: run.options) { [unowned self] violation in
                if let selection { selection.found(violation) } else { print(violation) }
            }
        }

        func check(_ block: Block, name: String, skip: Bool) {
            out.removeAll(keepingCapacity: true)
            marks.removeAll(keepingCapacity: true)
            guard failure == nil else { return }
            block.bytes.withUnsafeBytes { bytes in
                for k in block.numbers.indices where block.workers[k] == index {
                    let number = block.numbers[k]
                    do {
                        _ = try parser.parse(UnsafeRawBufferPointer(rebasing: bytes[block.line(k)])) { line in
                            try checker.consume(line)
                            if let selection { try selection.checked(try line.record()) }
                        }
                    } catch let problem as LineProblem {
                        let place = "\(name):\(number)"
                        guard skip else {
                            failure = (number, BasetapError.input(place: place, message: problem.message))
                            return
                        }
                        bad += 1
                        if firstBad == nil { firstBad = (number, "\(place): \(problem.message)") }
                    } catch {
                        failure = (number, error as? BasetapError ?? BasetapError.input(place: "\(name):\(number)", message: "\(error)"))
                        return
                    }
                    if marks.last?.end ?? 0 != out.count { marks.append((number, out.count)) }
                }
            }
        }

        var summary: CheckSummary {
            checker.finish()
            return selection?.summary(checker.summary) ?? checker.summary
        }
    }

    struct Outcome {
        var summary = CheckSummary()
        var badLines = 0
        var firstBadLines: [String] = []
    }

    /// Checks `paths` (JSONL files) in order, as one checker would across them.
    func run(_ paths: [String], output: OutputFile, progress: OutputFile?, messages: OutputFile) throws -> Outcome {
        let workers = (0..<jobs).map { Worker(index: $0, run: self) }
        var outcome = Outcome()
        for path in paths {
            let file = try JSONLCaptureReader(path: path)
            let meter = progress.map { ProgressMeter(output: $0, label: "checking \(path)", total: CheckRun.size(of: path)) }
            let reader = BlockReader(jobs: jobs, lines: file.takeLines())
            let name = file.name, skip = skipBadLines
            var current = Block(), next = Block()
            try reader.fill(current)
            while !current.isEmpty {
                let (block, spare) = (current, next)
                // The workers check this block while one more thread reads the next.
                DispatchQueue.concurrentPerform(iterations: jobs + 1) { i in
                    if i == jobs { reader.fillCatching(spare) } else { workers[i].check(block, name: name, skip: skip) }
                }
                try write(workers, output: output)
                if let failure = workers.compactMap(\.failure).min(by: { $0.line < $1.line }) { throw failure.error }
                if let error = reader.error { throw error }
                meter?.update(done: spare.bytesRead, detail: "\(workers.reduce(0) { $0 + $1.checker.summary.messages }) messages")
                (current, next) = (spare, block)
            }
            meter?.finish()
            let bad = workers.compactMap(\.firstBad).min { $0.line < $1.line }
            let count = workers.reduce(0) { $0 + $1.bad }
            outcome.badLines += count
            if let bad {
                try messages.write("basetap: skipped \(count) malformed lines; first: \(bad.text)\n")
            }
            for worker in workers {
                worker.bad = 0
                worker.firstBad = nil
            }
        }
        outcome.summary = workers.reduce(CheckSummary()) { $0 + $1.summary }
        return outcome
    }

    /// The block's findings in line order; a line's findings all come from one worker, in its order.
    /// Lines past the first malformed one (when lines are not skipped) are not written.
    private func write(_ workers: [Worker], output: OutputFile) throws {
        let stop = workers.compactMap(\.failure?.line).min() ?? Int.max
        var pieces: [(line: Int, worker: Int, start: Int, end: Int)] = []
        for worker in workers {
            var start = 0
            for mark in worker.marks {
                if mark.line < stop { pieces.append((mark.line, worker.index, start, mark.end)) }
                start = mark.end
            }
        }
        pieces.sort { $0.line < $1.line }
        for piece in pieces {
            try output.append { $0.append(contentsOf: workers[piece.worker].out[piece.start..<piece.end]) }
        }
    }

    /// Reads blocks of lines and picks each line's worker: by its connection id, found quickly in
    /// most lines and by a parse in the rest; a line that is no record goes anywhere (its worker
    /// reports it). Only the thread reading the next block touches it.
    private final class BlockReader: @unchecked Sendable {
        let jobs: Int
        private var lines: LineReader
        private var parser = CaptureLineParser()
        private(set) var error: Error?
        /// Each connection's worker, by a hash of its id: a new one goes to the worker with the
        /// fewest lines so far, so that a few connections still share the work evenly. Past
        /// `maxRemembered` connections the hash alone picks.
        private var assigned: [UInt64: Int] = [:]
        private var load: [Int]
        private static let maxRemembered = 1 << 18

        init(jobs: Int, lines: LineReader) {
            self.jobs = jobs
            self.lines = lines
            load = Array(repeating: 0, count: jobs)
        }

        func fillCatching(_ block: Block) {
            do { try fill(block) } catch { self.error = error }
        }

        func fill(_ block: Block) throws {
            block.clear()
            while block.bytes.count < ParallelCheck.blockBytes && block.numbers.count < ParallelCheck.blockLines {
                let more: Bool? = try lines.next { line, number in
                    block.bytes.append(contentsOf: line)
                    block.starts.append(block.bytes.count)
                    block.numbers.append(number)
                    block.workers.append(worker(line, number))
                    return true
                }
                guard more != nil else { break }
            }
            block.bytesRead = lines.bytesConsumed
        }

        private func worker(_ line: UnsafeRawBufferPointer, _ number: Int) -> Int {
            let id: UInt64
            if let conn = CaptureLineParser.quickConn(line) {
                id = Self.hash(conn)
            } else if case .record(let conn)? = try? parser.parse(line, { $0.conn }) {
                id = Array(conn.utf8).withUnsafeBytes { Self.hash($0) }
            } else {
                return number % jobs
            }
            let worker = assigned[id] ?? {
                guard assigned.count < Self.maxRemembered else { return Int(id % UInt64(jobs)) }
                let least = load.indices.min { load[$0] < load[$1] }!
                assigned[id] = least
                return least
            }()
            load[worker] += 1
            return worker
        }

        /// FNV-1a of a connection id.
        static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
            return h
        }
    }
}

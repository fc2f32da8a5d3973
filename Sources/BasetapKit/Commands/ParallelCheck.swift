import Foundation

/// `check --jobs N` on JSONL captures. Connections are independent, so each connection's lines go
/// to one of N workers (always the same one, so that its lines stay in order in one checker). The
/// file is mapped a block at a time. Each worker first splits its share of the block into lines and
/// finds each line's connection; then every worker walks all the block's lines in order, routing
/// each the same way (so all agree on who checks it), and checks its own: no line is copied, split
/// or searched twice. The main thread maps blocks ahead, and writes each block's findings in line
/// order once every worker has checked it: the output, the summary and the errors are byte for byte
/// what a single checker gives. A worker splits the next block before it checks one, so it waits
/// for the others only when one of them is a whole block behind.
struct ParallelCheck {
    let jobs: Int
    let options: CheckOptions
    let filter: MessageFilter?
    let formatter: ViolationFormatter
    let quiet: Bool
    let skipBadLines: Bool

    /// Lines a block should hold, about: a block of short lines is made smaller, so that the lines
    /// split ahead of their check stay a few megabytes whatever the file holds.
    static let blockLines = 65_536

    /// A line of the block as a worker's split found it: where it starts (it ends at the newline
    /// before the next), and its connection's hash, 0 for a line that is no record (it goes
    /// anywhere, and its worker reports it). Eight bytes: a block of empty lines has as many as it
    /// has bytes.
    private struct SplitLine {
        var start: UInt32
        /// The hash in the low 31 bits; the top bit says that the line ends in `\r`. The worker
        /// that checks the line then knows where it ends without reading its last bytes, which
        /// the splitting worker's core has and its own has not yet.
        var conn: UInt32

        static let endsInCR: UInt32 = 1 << 31
    }

    /// One worker's share of a block, split.
    private struct Part {
        var lines: [SplitLine] = []
        /// Where the last line ends (at its newline, or the end of the block).
        var end = 0
    }

    /// What one job made of one block in flight: its split share, then its findings. The job writes
    /// it; the other jobs read the split, and the main thread the findings, only after waiting on the
    /// block's groups.
    private final class Slot: @unchecked Sendable {
        var part = Part()
        /// Formatted findings of the block, and after each line that had some, (line number, end offset).
        var out: [UInt8] = []
        var marks: [(line: Int, end: Int)] = []
        /// The job's first malformed line so far (when lines are not skipped), and its messages so far.
        var failure: (line: Int, error: BasetapError)?
        var messages = 0
    }

    /// A mapped block on its way through the jobs.
    private final class Stage: @unchecked Sendable {
        let block: MappedLineBlocks.Block
        let shares: [Range<Int>]
        /// Where the block ends in the file.
        let end: Int
        /// Left by each job when its share is split, and when it has checked its lines.
        let split = DispatchGroup(), checked = DispatchGroup()

        init(_ block: MappedLineBlocks.Block, end: Int, jobs: Int) {
            self.block = block
            self.end = end
            shares = ParallelCheck.shares(of: block.bytes, count: jobs)
            for _ in 0..<jobs {
                split.enter()
                checked.enter()
            }
        }
    }

    /// The blocks the main thread has mapped, `depth` at most at a time, as the jobs wait for them:
    /// block `k` is at `k % depth`, published to each job by a signal of that place's semaphore;
    /// nil after the last. A place is used again only once every job has checked its block.
    private final class Pipeline: @unchecked Sendable {
        static let depth = 3
        private let places: UnsafeMutableBufferPointer<Stage?>
        private let published = (0..<depth).map { _ in DispatchSemaphore(value: 0) }
        private let jobs: Int
        private var count = 0

        init(jobs: Int) {
            self.jobs = jobs
            places = .allocate(capacity: Self.depth)
            places.initialize(repeating: nil)
        }

        deinit {
            places.deinitialize()
            places.deallocate()
        }

        /// Main thread: the next block, or nil for the end.
        func publish(_ stage: Stage?) {
            let place = count % Self.depth
            places[place] = stage
            count += 1
            for _ in 0..<jobs { published[place].signal() }
        }

        /// A job: block `k`, once published.
        func stage(_ k: Int) -> Stage? {
            published[k % Self.depth].wait()
            return places[k % Self.depth]
        }
    }

    /// One job's router and checker, and its slots for the blocks in flight; only its own thread
    /// writes to it while blocks are worked on.
    private final class Worker: @unchecked Sendable {
        let index: Int
        var router: Router
        var parser = CaptureLineParser()
        var checker: CaptureChecker!
        var selection: FilteredViolations?
        let slots = (0..<Pipeline.depth).map { _ in Slot() }
        /// Formatted findings of the block being checked (the checker writes here; moved to the slot after).
        var out: [UInt8] = []
        var marks: [(line: Int, end: Int)] = []
        var malformed: MalformedLines
        /// The first malformed line when lines are not skipped: checking stops there.
        var failure: (line: Int, error: BasetapError)?

        init(index: Int, run: ParallelCheck) {
            self.index = index
            router = Router(jobs: run.jobs)
            malformed = MalformedLines(skip: run.skipBadLines)
            let formatter = run.formatter, quiet = run.quiet
            let print: (Violation) -> Void = { [unowned self] violation in
                if !quiet { formatter.append(violation, into: &out) }
            }
            (checker, selection) = FilteredViolations.checker(options: run.options, filter: run.filter, report: print)
        }

        /// Works through the pipeline's blocks: splits each (its share), then checks the one before.
        func work(_ pipeline: Pipeline, _ workers: [Worker], name: String) {
            guard var current = pipeline.stage(0) else { return }
            var k = 0, linesBefore = 0
            split(current, into: slots[0])
            while true {
                let next = pipeline.stage(k + 1)
                if let next { split(next, into: slots[(k + 1) % Pipeline.depth]) }
                current.split.wait()
                let parts = workers.map { $0.slots[k % Pipeline.depth].part }
                check(current.block.bytes, parts: parts, firstLine: linesBefore + 1, name: name)
                linesBefore += parts.reduce(0) { $0 + $1.lines.count }
                let slot = slots[k % Pipeline.depth]
                swap(&out, &slot.out)
                swap(&marks, &slot.marks)
                (slot.failure, slot.messages) = (failure, checker.summary.messages)
                current.checked.leave()
                guard let next else { return }
                (current, k) = (next, k + 1)
            }
        }

        /// Splits this worker's share of the block (from a line's start to just past a newline, or
        /// the block's end) into lines and finds their connections.
        private func split(_ stage: Stage, into slot: Slot) {
            let block = stage.block.bytes, range = stage.shares[index]
            var split = slot.part, parser = self.parser
            slot.part = Part()
            split.lines.removeAll(keepingCapacity: true)
            var at = range.lowerBound
            split.end = at
            while at < range.upperBound {
                let end = ByteSearch.first(0x0A, in: block, at, range.upperBound) ?? range.upperBound
                let line = LineReader.withoutCR(UnsafeRawBufferPointer(rebasing: block[at..<end]))
                let cr = line.count < end - at ? SplitLine.endsInCR : 0
                split.lines.append(SplitLine(start: UInt32(at), conn: Router.conn(line, &parser) | cr))
                split.end = end
                at = end + 1
            }
            slot.part = split
            self.parser = parser
            stage.split.leave()
        }

        /// Checks this worker's lines of the block; `parts` are every worker's split, in file order.
        /// The loop works on local copies of the router, parser and checker: each access to a
        /// class's stored property pays a dynamic exclusivity check, and this runs for every line.
        private func check(_ block: UnsafeRawBufferPointer, parts: [Part], firstLine: Int, name: String) {
            out.removeAll(keepingCapacity: true)
            marks.removeAll(keepingCapacity: true)
            var router = Router(jobs: 1), parser = CaptureLineParser()
            var checker: CaptureChecker! = nil
            swap(&router, &self.router)
            swap(&parser, &self.parser)
            swap(&checker, &self.checker)
            var malformed = self.malformed, failure = self.failure, number = firstLine - 1
            let index = self.index, selection = self.selection
            for part in parts {
                for k in part.lines.indices {
                    number += 1
                    let split = part.lines[k]
                    guard router.worker(split.conn & ~SplitLine.endsInCR, number) == index, failure == nil else { continue }
                    do {
                        let start = Int(split.start)
                        let end = (k + 1 < part.lines.count ? Int(part.lines[k + 1].start) - 1 : part.end)
                            - (split.conn & SplitLine.endsInCR != 0 ? 1 : 0)
                        let line = UnsafeRawBufferPointer(rebasing: block[start..<end])
                        _ = try parser.parse(line) { line in
                            try checker.consume(line)
                            if let selection { try selection.checked(try line.record()) }
                        }
                    } catch let problem as LineProblem {
                        do throws(BasetapError) {
                            try malformed.note(problem, file: name, line: number)
                        } catch {
                            failure = (number, error)
                            continue
                        }
                    } catch {
                        failure = (number, error as? BasetapError ?? BasetapError.input(place: "\(name):\(number)", message: "\(error)"))
                        continue
                    }
                    if marks.last?.end ?? 0 != out.count { marks.append((number, out.count)) }
                }
            }
            swap(&router, &self.router)
            swap(&parser, &self.parser)
            swap(&checker, &self.checker)
            (self.malformed, self.failure) = (malformed, failure)
        }

        var summary: CheckSummary {
            checker.finish()
            return selection?.summary(checker.summary) ?? checker.summary
        }
    }

    /// Checks `paths` (JSONL files) in order, as one checker would across them.
    func run(_ paths: [String], output: OutputFile, progress: OutputFile?, messages: OutputFile) throws -> CheckSummary {
        let workers = (0..<jobs).map { Worker(index: $0, run: self) }
        var badLines = 0
        for path in paths {
            let file = try MappedLineBlocks(path: path)
            let meter = progress.map { ProgressMeter(output: $0, label: "checking \(path)", total: CheckRun.size(of: path)) }
            try check(file, workers, output: output, meter: meter)
            meter?.finish()
            let malformed = workers.dropFirst().reduce(workers[0].malformed) { $0 + $1.malformed }
            badLines += malformed.count
            if let notice = malformed.notice { try messages.write(notice) }
            for worker in workers { worker.malformed = MalformedLines(skip: skipBadLines) }
        }
        var summary = workers.reduce(CheckSummary()) { $0 + $1.summary }
        summary.badLines = badLines
        return summary
    }

    /// Maps the file's blocks ahead of the workers and writes each block's findings once all have
    /// checked it. A block that cannot be taken (a line too long) is reported once the lines before
    /// it are written, with its line's number, as a single checker would.
    private func check(_ file: MappedLineBlocks, _ workers: [Worker], output: OutputFile, meter: ProgressMeter?) throws {
        let pipeline = Pipeline(jobs: jobs)
        let running = DispatchGroup()
        var lines = 0, bytes = MappedLineBlocks.blockBytes, ended = false, failedToMap: Error?
        var inFlight: [Stage] = []
        func mapNext() {
            guard !ended else { return }
            do {
                if let block = try file.next(linesBefore: 0, bytes: bytes) {
                    let stage = Stage(block, end: file.position, jobs: jobs)
                    inFlight.append(stage)
                    return pipeline.publish(stage)
                }
            } catch {
                failedToMap = error
            }
            pipeline.publish(nil)
            ended = true
        }
        // Unless the workers have been told where the blocks end, they wait for ever.
        defer {
            if !ended { pipeline.publish(nil) }
            running.wait()
        }
        for _ in 0..<Pipeline.depth { mapNext() }
        // A thread each: the workers wait for each other, which a pool's threads must not do (with
        // more jobs than the pool has threads, the first would wait for ones never started).
        let name = file.name
        for worker in workers {
            running.enter()
            Thread {
                worker.work(pipeline, workers, name: name)
                running.leave()
            }.start()
        }
        for k in 0... {
            guard !inFlight.isEmpty else { break }
            let stage = inFlight.removeFirst()
            stage.checked.wait()
            let slots = workers.map { $0.slots[k % Pipeline.depth] }
            try write(slots, output: output)
            if let failure = slots.compactMap(\.failure).min(by: { $0.line < $1.line }) { throw failure.error }
            let count = slots.reduce(0) { $0 + $1.part.lines.count }
            lines += count
            bytes = stage.block.bytes.count / max(count, 1) * Self.blockLines
            meter?.update(done: stage.end, detail: "\(slots.reduce(0) { $0 + $1.messages }) messages")
            mapNext()
        }
        if let failedToMap {
            // Taken again now that the lines before it are counted, for the error to name its line.
            _ = try file.next(linesBefore: lines, bytes: bytes)
            throw failedToMap
        }
    }

    /// `count` consecutive ranges of the block, each from a line's start to just past a newline
    /// (or the block's end), of about equal size; some may be empty.
    private static func shares(of block: UnsafeRawBufferPointer, count: Int) -> [Range<Int>] {
        var bounds = [0]
        for k in 1..<count {
            var cut = max(bounds.last!, block.count * k / count)
            if cut > 0 && cut < block.count {
                // Past the newline that ends the line the cut falls in.
                cut = ByteSearch.first(0x0A, in: block, cut - 1, block.count).map { $0 + 1 } ?? block.count
            }
            bounds.append(min(cut, block.count))
        }
        bounds.append(block.count)
        return (0..<count).map { bounds[$0]..<bounds[$0 + 1] }
    }

    /// The block's findings in line order, from each worker's slot for it; a line's findings all
    /// come from one worker, in its order. Lines past the first malformed one (when lines are not
    /// skipped) are not written.
    private func write(_ slots: [Slot], output: OutputFile) throws {
        let stop = slots.compactMap(\.failure?.line).min() ?? Int.max
        var pieces: [(line: Int, slot: Int, start: Int, end: Int)] = []
        for (index, slot) in slots.enumerated() {
            var start = 0
            for mark in slot.marks {
                if mark.line < stop { pieces.append((mark.line, index, start, mark.end)) }
                start = mark.end
            }
        }
        pieces.sort { $0.line < $1.line }
        for piece in pieces {
            try output.append { $0.append(contentsOf: slots[piece.slot].out[piece.start..<piece.end]) }
        }
    }

    /// Picks each line's worker from the hash of its connection id, found quickly in most lines and
    /// by a parse in the rest. Every worker keeps one and shows it the same lines in the same order,
    /// so all of them pick alike.
    private struct Router {
        let jobs: Int
        /// Each connection's worker, by the hash of its id: a new one goes to the worker with the
        /// fewest lines so far, so that a few connections still share the work evenly. Past
        /// `maxRemembered` connections the hash alone picks. (Two ids of one hash share a worker,
        /// which costs balance, never a wrong result.)
        private var assigned: [UInt32: Int] = [:]
        private var load: [Int]
        private static let maxRemembered = 1 << 18
        /// The last connections' workers, by their hash's low bits: a capture interleaves a few
        /// connections at a time, and this spares the dictionary for most lines.
        private var recent = [(conn: UInt32, worker: Int)](repeating: (0, -1), count: 64)

        init(jobs: Int) {
            self.jobs = jobs
            load = Array(repeating: 0, count: jobs)
        }

        /// The hash of the line's connection id in 31 bits (never 0), or 0 when the line is no record.
        static func conn(_ line: UnsafeRawBufferPointer, _ parser: inout CaptureLineParser) -> UInt32 {
            let hash: UInt64
            if let conn = CaptureLineParser.quickConn(line) {
                hash = ByteHash.of(conn)
            } else if case .record(let conn)? = try? parser.parse(line, { $0.conn }) {
                hash = Array(conn.utf8).withUnsafeBytes { ByteHash.of($0) }
            } else {
                return 0
            }
            return max(1, UInt32(truncatingIfNeeded: hash ^ hash >> 32) & ~SplitLine.endsInCR)
        }

        mutating func worker(_ conn: UInt32, _ number: Int) -> Int {
            guard conn != 0 else { return number % jobs }
            let slot = Int(truncatingIfNeeded: conn & 63)
            let worker: Int
            if recent[slot].worker >= 0 && recent[slot].conn == conn {
                worker = recent[slot].worker
            } else {
                worker = assigned[conn] ?? {
                    guard assigned.count < Self.maxRemembered else { return Int(conn % UInt32(jobs)) }
                    let least = load.indices.min { load[$0] < load[$1] }!
                    assigned[conn] = least
                    return least
                }()
                recent[slot] = (conn, worker)
            }
            load[worker] += 1
            return worker
        }
    }
}

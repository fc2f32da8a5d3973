import Foundation

/// `check --jobs N` on JSONL captures. Connections are independent, so each connection's lines go
/// to one of N workers (always the same one, so that its lines stay in order in one checker). The
/// file is taken a block of lines at a time. Each worker first reads its share of the block's bytes
/// and splits it into lines, finding each line's connection; then every worker walks all the block's
/// lines in order, routing each the same way (so all agree on who checks it), and checks its own: no
/// line is read, split or searched twice. The main thread finds the blocks ahead, and writes each
/// block's findings in line order once every worker has checked it: the output, the summary and the
/// errors are byte for byte what a single checker gives. A worker reads and splits the next block
/// before it checks one, so it waits for the others only when one of them is a whole block behind.
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

    /// One worker's share of a block, split: the lines that end in the share (the first of them
    /// may begin in an earlier share).
    private struct Part {
        var lines: [SplitLine] = []
        /// Where the last line ends (at its newline, or the end of the block).
        var end = 0
    }

    /// What one job made of one block in flight: its split share, then its findings. The job writes
    /// it; the other jobs read the split, and the main thread the findings, only after waiting on the
    /// block's groups.
    private final class Slot: @unchecked Sendable {
        /// Why the job's share of the block could not be read (the file was cut short), if it could not.
        var readFailure: Error?
        var part = Part()
        /// Formatted findings of the block, and after each line that had some, (line number, end offset).
        var out: [UInt8] = []
        var marks: [(line: Int, end: Int)] = []
        /// The job's first malformed line so far (when lines are not skipped), and its messages so far.
        var failure: (line: Int, error: BasetapError)?
        var messages = 0
    }

    /// A block on its way through the jobs.
    private final class Stage: @unchecked Sendable {
        /// Where the block is in the file, and where its bytes are read to.
        let range: Range<Int>
        let bytes: UnsafeMutableRawBufferPointer
        /// Each job's part of the bytes to read and split: equal, whatever the lines.
        let shares: [Range<Int>]
        /// Left by each job when its share is read, when it is split, and when it has checked its lines.
        let read = DispatchGroup(), split = DispatchGroup(), checked = DispatchGroup()

        init(_ range: Range<Int>, bytes: UnsafeMutableRawBufferPointer, jobs: Int) {
            self.range = range
            self.bytes = bytes
            shares = (0..<jobs).map { range.count * $0 / jobs..<range.count * ($0 + 1) / jobs }
            for _ in 0..<jobs {
                read.enter()
                split.enter()
                checked.enter()
            }
        }
    }

    /// The blocks the main thread has found, `depth` at most at a time, as the jobs wait for them:
    /// block `k` is at `k % depth`, published to each job by a signal of that place's semaphore;
    /// nil after the last. A place, and its buffer, is used again only once every job has checked
    /// its block.
    private final class Pipeline: @unchecked Sendable {
        static let depth = 3
        private let places: UnsafeMutableBufferPointer<Stage?>
        private var buffers = [UnsafeMutableRawBufferPointer](repeating: .init(start: nil, count: 0), count: depth)
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
            for buffer in buffers { buffer.deallocate() }
        }

        /// Main thread: a buffer of `count` bytes for the next block, at the next place.
        func buffer(_ count: Int) -> UnsafeMutableRawBufferPointer {
            let place = self.count % Self.depth
            if buffers[place].count < count {
                buffers[place].deallocate()
                buffers[place] = .allocate(byteCount: count, alignment: 64)
            }
            return UnsafeMutableRawBufferPointer(rebasing: buffers[place][0..<count])
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

        /// Works through the pipeline's blocks: reads and splits each (its share), then checks the
        /// one before, unless a share of it could not be read.
        func work(_ pipeline: Pipeline, _ workers: [Worker], file: LineBlockFile) {
            guard var current = pipeline.stage(0) else { return }
            var k = 0, linesBefore = 0
            split(current, into: slots[0], file: file)
            while true {
                let next = pipeline.stage(k + 1)
                if let next { split(next, into: slots[(k + 1) % Pipeline.depth], file: file) }
                current.split.wait()
                let shared = workers.map { $0.slots[k % Pipeline.depth] }
                let parts = shared.map(\.part)
                if shared.allSatisfy({ $0.readFailure == nil }) {
                    check(UnsafeRawBufferPointer(current.bytes), parts: parts, firstLine: linesBefore + 1, name: file.name)
                }
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

        /// Reads this worker's share of the block, and splits the lines that end in it (at a newline,
        /// or the block's end) and finds their connections. The first of them may begin in an earlier
        /// share: where, is known once the shares before are read.
        private func split(_ stage: Stage, into slot: Slot, file: LineBlockFile) {
            let block = UnsafeRawBufferPointer(stage.bytes), share = stage.shares[index]
            do {
                let offset = stage.range.lowerBound
                try file.read(share.lowerBound + offset..<share.upperBound + offset, into: stage.bytes.baseAddress! + share.lowerBound)
                slot.readFailure = nil
            } catch {
                slot.readFailure = error
            }
            stage.read.leave()
            var split = slot.part, parser = self.parser
            slot.part = Part()
            split.lines.removeAll(keepingCapacity: true)
            func end(after at: Int) -> Int? {
                ByteSearch.first(0x0A, in: block, at, share.upperBound)
                    ?? (share.upperBound == block.count && at < block.count ? block.count : nil)
            }
            func line(_ start: Int, _ end: Int) -> SplitLine {
                let line = LineReader.withoutCR(UnsafeRawBufferPointer(rebasing: block[start..<end]))
                return SplitLine(start: UInt32(start), conn: Router.conn(line, &parser) | (line.count < end - start ? SplitLine.endsInCR : 0))
            }
            var at = share.lowerBound
            // The line begun before the share: its place, filled in below.
            let firstEnd = at > 0 ? end(after: at) : nil
            if let firstEnd {
                split.lines.append(SplitLine(start: 0, conn: 0))
                (split.end, at) = (firstEnd, firstEnd + 1)
            }
            while let lineEnd = end(after: at) {
                split.lines.append(line(at, lineEnd))
                (split.end, at) = (lineEnd, lineEnd + 1)
            }
            if let firstEnd {
                stage.read.wait()
                split.lines[0] = line(ByteSearch.last(0x0A, in: block, 0, share.lowerBound).map { $0 + 1 } ?? 0, firstEnd)
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
            let file = try LineBlockFile(path: path)
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

    /// Finds the file's blocks ahead of the workers and writes each block's findings once all have
    /// checked it. A block that cannot be taken (a line too long) is reported once the lines before
    /// it are written, with its line's number, as a single checker would; a block that could not be
    /// read (the file cut short), once the lines before it are written.
    private func check(_ file: LineBlockFile, _ workers: [Worker], output: OutputFile, meter: ProgressMeter?) throws {
        let pipeline = Pipeline(jobs: jobs)
        let running = DispatchGroup()
        var position = 0, lines = 0, bytes = LineBlockFile.blockBytes, ended = false, failedToTake: Error?
        var inFlight: [Stage] = []
        func takeNext() {
            guard !ended else { return }
            do {
                if let range = try file.block(at: position, linesBefore: 0, bytes: bytes) {
                    let stage = Stage(range, bytes: pipeline.buffer(range.count), jobs: jobs)
                    position = range.upperBound
                    inFlight.append(stage)
                    return pipeline.publish(stage)
                }
            } catch {
                failedToTake = error
            }
            pipeline.publish(nil)
            ended = true
        }
        // Unless the workers have been told where the blocks end, they wait for ever.
        defer {
            if !ended { pipeline.publish(nil) }
            running.wait()
        }
        for _ in 0..<Pipeline.depth { takeNext() }
        // A thread each: the workers wait for each other, which a pool's threads must not do (with
        // more jobs than the pool has threads, the first would wait for ones never started).
        for worker in workers {
            running.enter()
            Thread {
                worker.work(pipeline, workers, file: file)
                running.leave()
            }.start()
        }
        for k in 0... {
            guard !inFlight.isEmpty else { break }
            let stage = inFlight.removeFirst()
            stage.checked.wait()
            let slots = workers.map { $0.slots[k % Pipeline.depth] }
            if let failure = slots.lazy.compactMap(\.readFailure).first { throw failure }
            try write(slots, output: output)
            if let failure = slots.compactMap(\.failure).min(by: { $0.line < $1.line }) { throw failure.error }
            let count = slots.reduce(0) { $0 + $1.part.lines.count }
            lines += count
            bytes = stage.range.count / max(count, 1) * Self.blockLines
            meter?.update(done: stage.range.upperBound, detail: "\(slots.reduce(0) { $0 + $1.messages }) messages")
            takeNext()
        }
        if let failedToTake {
            // Taken again now that the lines before it are counted, for the error to name its line.
            _ = try file.block(at: position, linesBefore: lines, bytes: bytes)
            throw failedToTake
        }
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

import Foundation

/// `check --jobs N` on JSONL captures. Connections are independent, so each connection's lines go
/// to one of N workers (always the same one, so that its lines stay in order in one checker). Every
/// worker reads the whole file itself and routes every line the same way, checking its own and
/// passing over the rest: no thread reads for the others, and no line is copied. The workers go
/// through the file a block of lines at a time, and their findings are written in line order after
/// each block: the output, the summary and the errors are byte for byte what a single checker gives.
struct ParallelCheck {
    let jobs: Int
    let options: CheckOptions
    let filter: MessageFilter?
    let formatter: ViolationFormatter
    let quiet: Bool
    let skipBadLines: Bool

    /// Lines per block: enough to keep the workers busy between two writes, few enough that their
    /// findings wait in little memory.
    static let blockLines = 16_384

    /// One job's reader, router and checker, and what it found in the current block; only its own
    /// thread touches it while a block is checked.
    private final class Worker: @unchecked Sendable {
        let index: Int
        var file: JSONLCaptureReader?
        var lines = LineReader(bytes: [], name: "")
        var router: Router
        var parser = CaptureLineParser()
        var checker: CaptureChecker!
        var selection: FilteredViolations?
        /// Formatted findings of the block, and after each line that had some, (line number, end offset).
        var out: [UInt8] = []
        var marks: [(line: Int, end: Int)] = []
        var linesRead = 0
        var bytesRead = 0
        var malformed: MalformedLines
        /// The first malformed line when lines are not skipped: checking stops there.
        var failure: (line: Int, error: BasetapError)?
        /// An error reading the file (a line past the length limit, a failed read).
        var readError: Error?

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

        func open(_ path: String) throws {
            let file = try JSONLCaptureReader(path: path)
            self.file = file
            lines = file.takeLines()
            router = Router(jobs: router.jobs)
            linesRead = 0
        }

        /// Reads the next block of lines and checks those that are this worker's. The loop works on
        /// local copies of the reader, router, parser and checker: each access to a class's stored
        /// property pays a dynamic exclusivity check, and this runs for every line of the file.
        func checkBlock(name: String) {
            out.removeAll(keepingCapacity: true)
            marks.removeAll(keepingCapacity: true)
            var lines = LineReader(bytes: [], name: ""), router = Router(jobs: 1), parser = CaptureLineParser()
            var checker: CaptureChecker! = nil
            swap(&lines, &self.lines)
            swap(&router, &self.router)
            swap(&parser, &self.parser)
            swap(&checker, &self.checker)
            var malformed = self.malformed, failure = self.failure, linesRead = self.linesRead
            let index = self.index, selection = self.selection, end = linesRead + ParallelCheck.blockLines
            do {
                while linesRead < end, try lines.next({ (line: UnsafeRawBufferPointer, number: Int) -> Void in
                    guard router.worker(line, number) == index, failure == nil else { return }
                    do {
                        _ = try parser.parse(line) { line in
                            try checker.consume(line)
                            if let selection { try selection.checked(try line.record()) }
                        }
                    } catch let problem as LineProblem {
                        do throws(BasetapError) {
                            try malformed.note(problem, file: name, line: number)
                        } catch {
                            failure = (number, error)
                            return
                        }
                    } catch {
                        failure = (number, error as? BasetapError ?? BasetapError.input(place: "\(name):\(number)", message: "\(error)"))
                        return
                    }
                    if marks.last?.end ?? 0 != out.count { marks.append((number, out.count)) }
                }) != nil {
                    linesRead += 1
                }
            } catch {
                readError = error
            }
            bytesRead = lines.bytesConsumed
            swap(&lines, &self.lines)
            swap(&router, &self.router)
            swap(&parser, &self.parser)
            swap(&checker, &self.checker)
            (self.malformed, self.failure, self.linesRead) = (malformed, failure, linesRead)
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
            for worker in workers { try worker.open(path) }
            let name = workers[0].file!.name
            let meter = progress.map { ProgressMeter(output: $0, label: "checking \(path)", total: CheckRun.size(of: path)) }
            while true {
                let before = workers[0].linesRead
                DispatchQueue.concurrentPerform(iterations: jobs) { i in workers[i].checkBlock(name: name) }
                try write(workers, output: output)
                if let failure = workers.compactMap(\.failure).min(by: { $0.line < $1.line }) { throw failure.error }
                if let error = workers[0].readError { throw error }
                meter?.update(done: workers[0].bytesRead, detail: "\(workers.reduce(0) { $0 + $1.checker.summary.messages }) messages")
                if workers[0].linesRead - before < Self.blockLines { break }
            }
            meter?.finish()
            let malformed = workers.dropFirst().reduce(workers[0].malformed) { $0 + $1.malformed }
            badLines += malformed.count
            if let notice = malformed.notice { try messages.write(notice) }
            for worker in workers {
                worker.malformed = MalformedLines(skip: skipBadLines)
                worker.file = nil
            }
        }
        var summary = workers.reduce(CheckSummary()) { $0 + $1.summary }
        summary.badLines = badLines
        return summary
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

    /// Picks each line's worker: by its connection id, found quickly in most lines and by a parse
    /// in the rest; a line that is no record goes anywhere (its worker reports it). Every worker
    /// keeps one and shows it the same lines in the same order, so all of them pick alike.
    private struct Router {
        let jobs: Int
        private var parser = CaptureLineParser()
        /// Each connection's worker, by a hash of its id: a new one goes to the worker with the
        /// fewest lines so far, so that a few connections still share the work evenly. Past
        /// `maxRemembered` connections the hash alone picks.
        private var assigned: [UInt64: Int] = [:]
        private var load: [Int]
        private static let maxRemembered = 1 << 18
        /// The last line's connection id and worker: a connection's lines often come in runs.
        private var lastConn: [UInt8] = []
        private var lastWorker = 0

        init(jobs: Int) {
            self.jobs = jobs
            load = Array(repeating: 0, count: jobs)
        }

        mutating func worker(_ line: UnsafeRawBufferPointer, _ number: Int) -> Int {
            if let conn = CaptureLineParser.quickConn(line) {
                if !conn.isEmpty, conn.count == lastConn.count, lastConn.withUnsafeBytes({ ByteCompare.equal($0.baseAddress!, conn.baseAddress!, count: conn.count) }) {
                    load[lastWorker] += 1
                    return lastWorker
                }
                lastConn.removeAll(keepingCapacity: true)
                lastConn.append(contentsOf: conn)
                lastWorker = worker(id: ByteHash.of(conn))
                return lastWorker
            }
            if case .record(let conn)? = try? parser.parse(line, { $0.conn }) {
                return worker(id: Array(conn.utf8).withUnsafeBytes { ByteHash.of($0) })
            }
            return number % jobs
        }

        private mutating func worker(id: UInt64) -> Int {
            let worker = assigned[id] ?? {
                guard assigned.count < Self.maxRemembered else { return Int(id % UInt64(jobs)) }
                let least = load.indices.min { load[$0] < load[$1] }!
                assigned[id] = least
                return least
            }()
            load[worker] += 1
            return worker
        }
    }
}

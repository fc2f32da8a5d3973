import Foundation

/// The server under test when basetap starts it (`--exec`): started through the shell, watched
/// for exits and signals, restarted after a crash. Its output is kept in two bounded parts: the
/// first 64 KiB of the last crash report, from the line that looks like its start (a Go `fatal
/// error:` comes long before the end of its trace), and the last 64 KiB.
public final class ServerProcess: @unchecked Sendable {
    /// How the server died: what a finding quotes and what crashes are grouped by.
    public struct Death: Sendable {
        /// "exited with status 2", "was killed by signal 11".
        public var exit: String
        /// When the exit was seen (`CaptureTime.nanoseconds()`).
        public var at: Int64
        /// The first line of the output that looks like the start of a crash.
        public var crashLine: String?
        /// The crash part of the output and its last part.
        public var output: String
        /// The crash line with numbers and addresses masked, else the exit: equal for the same crash.
        public var signature: String {
            guard let crashLine else { return exit }
            // One pass: masking digits after addresses would turn the "0" of "0x…" into "N".
            return crashLine.replacing(/0x[0-9a-fA-F]+|\d+/) { $0.output.hasPrefix("0x") ? "0x…" : "N" }
        }

        /// One sentence: how it ended, and the crash line when there is one.
        public var summary: String { "the server \(exit)" + (crashLine.map { ": \($0)" } ?? "") }
    }

    static let keep = 64 << 10
    /// Starts of crash reports: Go, Python, the sanitizers, C and C++ runtimes, Rust, Swift, Java.
    /// Those that end a process by their nature come first; an exception's traceback often ends
    /// only the thread that raised it.
    static let fatalMarkers = ["panic:", "fatal error:", "Fatal error:", "AddressSanitizer", "UndefinedBehaviorSanitizer",
                               "Segmentation fault", "SIGSEGV", "SIGABRT", "terminate called", "panicked at", "core dumped"].map { Array($0.utf8) }
    static let exceptionMarkers = ["Traceback (most recent call last)", "Exception in thread"].map { Array($0.utf8) }

    private static func contains(_ text: UnsafeRawBufferPointer, _ marker: [UInt8]) -> Bool {
        guard text.count >= marker.count, let base = text.baseAddress else { return false }
        var at = 0
        return marker.withUnsafeBytes { m in
            while let hit = ByteSearch.first(marker[0], in: text, at, text.count - marker.count + 1) {
                if ByteCompare.equal(base + hit, m.baseAddress!, count: marker.count) { return true }
                at = hit + 1
            }
            return false
        }
    }

    public let command: String
    private let target: ProxyTarget
    /// The server serves: it completes a WebSocket upgrade. (A bare TCP connect proves less, and
    /// servers log it as a failed handshake, which reads like a crash report.)
    private let ready: () -> Bool
    private var process: Process?
    private let lock = NSLock()
    private var tail: [UInt8] = []
    private var crash: [UInt8]?
    private var crashLine: String?
    /// Lines since the last one with a crash marker: a marker a few lines on belongs to the same report.
    private var linesSinceMarker = Int.max
    /// The report kept began with a fatal marker: an exception's traceback after it does not replace it.
    private var crashIsFatal = false
    /// When the last report began: one printed seconds before the exit was logged and lived past.
    private var crashAt: Int64 = 0
    /// The unfinished last line, scanned for crash markers once complete.
    private var line: [UInt8] = []
    private var exitedAt: Int64?
    private var drained = false
    /// Bytes of output read so far: while it grows, the end of the output is still coming.
    private var received = 0
    /// How many times the server was started: each start's output is told from the last one's.
    private var generation = 0
    public private(set) var restarts = 0

    public init(command: String, target: ProxyTarget, ready: @escaping () -> Bool) {
        self.command = command
        self.target = target
        self.ready = ready
    }

    /// Starts the command and waits until it completes an upgrade.
    public func start(timeout: Double = 15) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec " + command]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let run = beginRun()
        process.terminationHandler = { [weak self] _ in
            guard let self else { return }
            lock.lock()
            if run == generation { exitedAt = CaptureTime.nanoseconds() }
            lock.unlock()
        }
        do {
            try process.run()
        } catch {
            throw BasetapError.input(place: "--exec", message: "cannot start '\(command)': \(error.localizedDescription)")
        }
        self.process = process
        // A thread of its own reads the output to its end: Foundation's readability handler lost
        // the last part of a long crash report now and then when the process ended.
        let output = pipe.fileHandleForReading
        Thread.detachNewThread { [weak self] in
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = read(output.fileDescriptor, &chunk, chunk.count)
                if n < 0 && errno == EINTR { continue }
                guard let self else { return }
                guard n > 0 else {
                    take([], from: run)
                    return
                }
                take(Array(chunk[..<n]), from: run)
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning {
                let death = self.death()
                throw BasetapError.input(place: "--exec", message: "'\(command)' \(death?.exit ?? "exited") before accepting connections: \(lastLines(death?.output ?? "", 5))")
            }
            if ready() { return }
            usleep(50_000)
        }
        stop()
        throw BasetapError.input(place: "--exec", message: "'\(command)' did not accept connections on \(target.authority) within \(Int(timeout)) s")
    }

    /// Forgets what the last run printed and how it ended, and numbers the new run. Everything a
    /// run's reader and termination handler report carries its number: a stopped run's reader can
    /// still be draining its pipe, and what it reads belongs to no later run.
    private func beginRun() -> Int {
        lock.lock()
        defer { lock.unlock() }
        generation += 1
        tail.removeAll()
        crash = nil
        crashLine = nil
        linesSinceMarker = Int.max
        crashIsFatal = false
        line.removeAll()
        exitedAt = nil
        drained = false
        received = 0
        return generation
    }

    /// Output of run `run`; see `beginRun`.
    private func take(_ data: [UInt8], from run: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard run == generation else { return }
        guard !data.isEmpty else {
            drained = true
            return
        }
        received += data.count
        tail += data
        if tail.count > 2 * Self.keep { tail.removeFirst(tail.count - Self.keep) }
        line += data
        // The last crash report is the one the server died of: an earlier one it printed and lived
        // on past (a thread's traceback, a recovered panic) gives way to it, except that a thread's
        // traceback printed while a fatal report ends the process does not replace that. A report is
        // kept from its first marker line on; markers within a few lines of that belong to the same report.
        // Lines are searched as bytes where they stand: a server that logs every request it gets must
        // not be slowed by basetap reading its log (it would block on a full pipe and look hung).
        var start = 0
        line.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!
            while let newline = ByteSearch.first(0x0A, in: bytes, start, bytes.count) {
                let text = UnsafeRawBufferPointer(start: base + start, count: newline - start)
                let fatal = Self.fatalMarkers.contains { Self.contains(text, $0) }
                if fatal || Self.exceptionMarkers.contains(where: { Self.contains(text, $0) }) {
                    let newReport = linesSinceMarker > 3 || (fatal && !crashIsFatal)  // a fatal line inside a traceback starts its own
                    if newReport && (fatal || !crashIsFatal || CaptureTime.nanoseconds() - crashAt > 2_000_000_000) {
                        crashLine = String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                        crash = []
                        crashAt = CaptureTime.nanoseconds()
                        crashIsFatal = fatal
                    }
                    linesSinceMarker = 0
                } else if linesSinceMarker < Int.max {
                    linesSinceMarker += 1
                }
                if crash != nil, crash!.count < Self.keep {
                    crash! += UnsafeRawBufferPointer(start: base + start, count: newline + 1 - start).prefix(Self.keep - crash!.count)
                }
                start = newline + 1
            }
        }
        line.removeFirst(start)
        if line.count > 4096 { line.removeFirst(line.count - 4096) }
    }

    /// nil while running; otherwise how it ended.
    public var exitDescription: String? {
        guard let process else { return nil }
        if process.isRunning {
            switch Self.state(of: process.processIdentifier) {
            case .running: return nil
            case .ended(let exit): return exit
            case .reaped:
                // Foundation reaps the process, then says so: on a busy machine its thread can be held
                // up in between, and a dead server taken for a live one clears the case that killed it.
                let deadline = Date().addingTimeInterval(5)
                while process.isRunning && Date() < deadline { usleep(1_000) }
                if process.isRunning { return "exited" }
            }
        }
        return Self.describe(signal: process.terminationReason == .uncaughtSignal, process.terminationStatus)
    }

    /// How a process ended, in the words findings quote and group by.
    private static func describe(signal: Bool, _ number: Int32) -> String {
        signal ? "was killed by signal \(number)" : "exited with status \(number)"
    }

    /// What /proc says of a child process.
    enum ProcessState: Equatable {
        case running
        /// Exited and waiting to be reaped: how.
        case ended(String)
        /// Gone from /proc: its parent has reaped it.
        case reaped
    }

    /// How child `pid` stands, from /proc. Foundation's `Process` tells of an exit only once the
    /// output pipe closes, and a child the server started (a worker, a script's server) holds it open
    /// as long as it lives: the server would be dead and not known to be.
    static func state(of pid: pid_t) -> ProcessState {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else {
            // Reaped only when no process has the id any more: a read also fails for want of a
            // descriptor, with the server alive and the fuzzer's connections holding them.
            return kill(pid, 0) == -1 && errno == ESRCH ? .reaped : .running
        }
        guard let name = stat.lastIndex(of: ")") else { return .running }
        let fields = stat[stat.index(after: name)...].split(whereSeparator: \.isWhitespace)
        guard fields.first == "Z", let status = fields.last.flatMap({ Int32($0) }) else { return .running }
        let signal = status & 0x7F
        return .ended(describe(signal: signal != 0, signal != 0 ? signal : (status >> 8) & 0xFF))
    }

    /// nil while the server runs; once it has exited, how, with its output read to the end: until
    /// the pipe closes, or while output still comes (a busy machine reads a long crash report late),
    /// or for a second without any (a child the server started can hold the pipe open for ever).
    public func death() -> Death? {
        guard let exit = exitDescription else { return nil }
        let giveUp = Date().addingTimeInterval(30)
        var seen = -1, quietSince = Date()
        while Date() < giveUp {
            lock.lock()
            let (done, total) = (drained, received)
            lock.unlock()
            if done { break }
            if total != seen {
                (seen, quietSince) = (total, Date())
            } else if Date().timeIntervalSince(quietSince) > 1 {
                break
            }
            usleep(10_000)
        }
        lock.lock()
        defer { lock.unlock() }
        let at = exitedAt ?? CaptureTime.nanoseconds()
        // A process dies within moments of its fatal report; one from seconds before was only logged.
        let fatal = crash != nil && at - crashAt < 2_000_000_000
        var output = ""
        if let crash, fatal {
            output = String(decoding: crash, as: UTF8.self)
            if crash.count >= Self.keep { output += "\n[… the crash output goes on; its last \(Self.keep >> 10) KiB follow …]\n" }
        }
        let last = String(decoding: tail.suffix(Self.keep), as: UTF8.self)
        if !output.contains(last) { output += (output.isEmpty ? "" : "\n[… last output …]\n") + last }
        return Death(exit: exit, at: at, crashLine: fatal ? crashLine : nil, output: output)
    }

    /// After a case that may have killed it: true when the server has exited. A server that no longer
    /// completes `handshake` is given two seconds to be seen exiting: the kernel completes TCP
    /// connects for a process that is in the middle of dying, so a bare connect proves nothing.
    public func died(handshake: () -> Bool) -> Bool {
        if exitDescription == nil && handshake() { return false }
        return waitForExit(seconds: 2)
    }

    /// Waits until the server has exited, for `seconds` at most: true once it has.
    public func waitForExit(seconds: Double) -> Bool {
        guard let process else { return false }
        if exitDescription == nil { _ = ProcessExit.wait(process.processIdentifier, seconds: seconds) }
        return exitDescription != nil
    }

    public func restart() throws {
        stop()
        restarts += 1
        try start()
    }

    public func stop() {
        guard let process else { return }
        // The whole process group (Foundation starts the server as the leader of one): what the
        // server started goes too (`npm start` runs node; a script runs its server as a child). A
        // child left behind would hold the port, and the output pipe with the wait for its end.
        let group = -process.processIdentifier
        kill(group, SIGTERM)
        _ = ProcessExit.wait(process.processIdentifier, seconds: 5)
        kill(group, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    private func lastLines(_ text: String, _ count: Int) -> String {
        text.split(separator: "\n").suffix(count).joined(separator: " | ")
    }
}

import Foundation
import Testing
@testable import BasetapKit

/// Servers that are real processes and die in the ways servers do, watched by `ServerProcess`.
@Suite struct ServerProcessTests {
    static let target = ProxyTarget(host: "127.0.0.1", port: 1)

    /// A FIFO in `directory`: reading one blocks until the test writes it, and a `cat` of one that
    /// is never written lives until it is killed (a child that outlives its server).
    static func fifo(_ name: String, in directory: URL) -> String {
        let path = directory.appendingPathComponent(name).path
        #expect(mkfifo(path, 0o600) == 0)
        return path
    }

    /// A server that reads a line from the FIFO `trigger` before it runs `script`: it is surely
    /// running when `start` looks, however loaded the machine, and goes on at the test's word.
    static func waiting(_ trigger: String, then script: String) -> String {
        "sh -c 'read go < \(trigger); \(script)'"
    }

    /// Tells a server made by `waiting` to go on (opening the FIFO waits for the server to open it).
    static func pull(_ trigger: String) {
        let handle = FileHandle(forWritingAtPath: trigger)
        handle?.write(Data("go\n".utf8))
        try? handle?.close()
    }

    /// Whether `died` sees the server dead once it has exited. The two seconds `died` gives a server
    /// are the fuzzer's; a loaded machine can take longer to run a shell's last lines after `pull`.
    static func diedOnceExited(_ server: ServerProcess) throws -> Bool {
        guard server.waitForExit(seconds: 20) else { throw BasetapError.usage("timed out after 20 s waiting for the server to exit") }
        return server.died(handshake: { false })
    }

    /// Starts `script` (a shell script) as the server, lets it run, and waits for it to die.
    static func death(of script: String) throws -> ServerProcess.Death? {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trigger = fifo("go", in: directory)
        let server = ServerProcess(command: waiting(trigger, then: script), target: target, ready: { true })
        try server.start(timeout: 10)
        defer { server.stop() }
        pull(trigger)
        #expect(try Self.diedOnceExited(server))
        return server.death()
    }

    @Test func aGoPanicIsTheCrashLineAndItsNumbersAreMaskedInTheSignature() throws {
        let death = try #require(try Self.death(of: """
            echo listening on :8080
            echo "panic: runtime error: index out of range [5] with length 3"
            echo
            echo "goroutine 1 [running]:"
            echo "main.handle(0xc000012345)"
            exit 2
            """))
        #expect(death.exit == "exited with status 2")
        #expect(death.crashLine == "panic: runtime error: index out of range [5] with length 3")
        #expect(death.signature == "panic: runtime error: index out of range [N] with length N")
        #expect(death.summary == "the server exited with status 2: panic: runtime error: index out of range [5] with length 3")
        #expect(death.output.contains("goroutine 1 [running]:") && death.output.contains("main.handle(0xc000012345)"))
    }

    /// A fatal report inside an exception's traceback is what killed the process; the signal is named.
    @Test func aSignalAndTheFatalLineWithinATraceback() throws {
        let death = try #require(try Self.death(of: """
            echo "Traceback (most recent call last):"
            echo "  File \\"server.py\\", line 3, in <module>"
            echo "Fatal Python error: Segmentation fault"
            kill -SEGV $$
            """))
        #expect(death.exit == "was killed by signal 11")
        #expect(death.crashLine == "Fatal Python error: Segmentation fault")
        #expect(death.signature == death.crashLine)
    }

    @Test func aCleanExitWithoutAReportIsGroupedByItsStatus() throws {
        let death = try #require(try Self.death(of: "echo bye; exit 0"))
        #expect(death.crashLine == nil)
        #expect(death.signature == "exited with status 0")
        #expect(death.output == "bye\n")
    }

    /// Output is kept in two bounded parts whatever the server prints: the crash report's start and the end.
    @Test func longOutputKeepsTheReportAndTheEndInBoundedMemory() throws {
        let death = try #require(try Self.death(of: """
            i=0; while [ $i -lt 3000 ]; do echo "request $i served fine, nothing to see in this line of the log"; i=$((i+1)); done
            echo "AddressSanitizer: heap-use-after-free on address 0x602000000010"
            i=0; while [ $i -lt 3000 ]; do echo "    #$i 0x4f5e3c in frame_$i server.c:$i"; i=$((i+1)); done
            echo last words
            exit 1
            """))
        #expect(death.crashLine == "AddressSanitizer: heap-use-after-free on address 0x602000000010")
        #expect(death.signature == "AddressSanitizer: heap-use-after-free on address 0x…")
        #expect(death.output.hasPrefix("AddressSanitizer: heap-use-after-free"))
        #expect(death.output.hasSuffix("last words\n"), "\(death.output.suffix(300))")
        #expect(death.output.contains("the crash output goes on"))
        #expect(death.output.utf8.count <= 2 * ServerProcess.keep + 200, "\(death.output.utf8.count) bytes kept")
        #expect(!death.output.contains("request 10 served"), "the log before the report is not kept")
    }

    @Test func aServerThatDiesBeforeServingIsAnInputErrorWithItsLastWords() throws {
        let server = ServerProcess(command: "sh -c 'echo starting; echo config.yaml: no such file >&2; exit 3'", target: Self.target, ready: { false })
        do {
            try server.start(timeout: 10)
            Issue.record("started")
        } catch let error as BasetapError {
            #expect(error.description.hasPrefix("--exec: 'sh -c"))
            #expect(error.description.hasSuffix("exited with status 3 before accepting connections: starting | config.yaml: no such file"), "\(error)")
        }
    }

    static func running(_ pattern: String) throws -> Bool {
        let pgrep = Process()
        pgrep.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        pgrep.arguments = ["-f", pattern]
        pgrep.standardOutput = FileHandle.nullDevice
        try pgrep.run()
        pgrep.waitUntilExit()
        return pgrep.terminationStatus == 0
    }

    /// Stopping a server stops what it started: a child left behind would hold the port and the
    /// output pipe (and with it the wait for the server's end).
    @Test func aServerThatNeverServesIsStoppedWithItsChildrenAndNamed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let hold = Self.fifo("hold", in: directory)
        let command = "sh -c 'cat \(hold) & wait'"
        let server = ServerProcess(command: command, target: Self.target, ready: { false })
        let started = Date()
        #expect(throws: BasetapError.input(place: "--exec", message: "'\(command)' did not accept connections on 127.0.0.1:1 within 1 s")) {
            try server.start(timeout: 1)
        }
        #expect(Date().timeIntervalSince(started) < 60, "stopping did not wait for the child")
        #expect(try !Self.running("^cat \(hold)"), "the child was stopped with the server")
    }

    @Test func aCrashedServersChildrenGoBeforeTheRestart() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trigger = Self.fifo("go", in: directory), hold = Self.fifo("hold", in: directory)
        let server = ServerProcess(command: Self.waiting(trigger, then: "cat \(hold) & echo \"panic: boom\"; exit 2"), target: Self.target, ready: { true })
        try server.start(timeout: 10)
        Self.pull(trigger)
        #expect(try Self.diedOnceExited(server))
        #expect(try Self.running("^cat \(hold)"), "the child outlived the server")
        server.stop()
        #expect(try !Self.running("^cat \(hold)"))
    }

    @Test func aRestartForgetsTheLastDeath() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trigger = Self.fifo("go", in: directory)
        let server = ServerProcess(command: Self.waiting(trigger, then: #"echo "panic: once"; exit 2"#), target: Self.target, ready: { true })
        try server.start(timeout: 10)
        Self.pull(trigger)
        #expect(try Self.diedOnceExited(server))
        #expect(server.death()?.crashLine == "panic: once")
        try server.restart()
        defer { server.stop() }
        #expect(server.restarts == 1)
        #expect(server.death() == nil, "the new server runs")
        Self.pull(trigger)
        #expect(try Self.diedOnceExited(server))
        #expect(server.death()?.crashLine == "panic: once")
        #expect(server.death()?.output == "panic: once\n", "one report, not the first run's as well")
    }

    /// A child as /proc shows it while it runs, once it has exited, and once reaped. Foundation's
    /// `Process` reaps its child a moment before it says so; on a busy machine the moment grows, and a
    /// server reaped but not yet said to be dead was once taken for a live one (its killer cleared).
    @Test func aChildIsRunningThenEndedThenReaped() throws {
        for (script, exit) in [("exit 3", "exited with status 3"), ("kill -KILL $$", "was killed by signal 9")] {
            var pid: pid_t = 0
            let words: [String] = ["/bin/sh", "-c", "read line; " + script]
            let argv = words.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var input: [Int32] = [0, 0]
            #expect(pipe(&input) == 0)
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, input[0], 0)
            posix_spawn_file_actions_addclose(&actions, input[1])
            #expect(posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ) == 0)
            close(input[0])
            #expect(ServerProcess.state(of: pid) == .running, "it waits for its line")
            _ = write(input[1], "go\n", 3)
            close(input[1])
            // Waits for the exit without reaping the child (WNOWAIT): /proc then shows it ended.
            var info = siginfo_t()
            #expect(waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == 0)
            #expect(ServerProcess.state(of: pid) == .ended(exit))
            var status: Int32 = 0
            #expect(waitpid(pid, &status, 0) == pid)
            #expect(ServerProcess.state(of: pid) == .reaped)
        }
    }
}

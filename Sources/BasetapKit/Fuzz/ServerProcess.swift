import Foundation

/// The server under test when basetap starts it (`--exec`): started through the shell, watched
/// for exits and signals, restarted after a crash, its last output kept for the finding.
public final class ServerProcess: @unchecked Sendable {
    public let command: String
    private let target: ProxyTarget
    private var process: Process?
    private let lock = NSLock()
    private var tail: [UInt8] = []
    public private(set) var restarts = 0

    public init(command: String, target: ProxyTarget) {
        self.command = command
        self.target = target
    }

    /// Starts the command and waits until the target port accepts connections.
    public func start(timeout: Double = 15) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec " + command]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            lock.lock()
            tail += data
            if tail.count > 8192 { tail.removeFirst(tail.count - 8192) }
            lock.unlock()
        }
        do {
            try process.run()
        } catch {
            throw BasetapError.input(place: "--exec", message: "cannot start '\(command)': \(error.localizedDescription)")
        }
        self.process = process
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning {
                throw BasetapError.input(place: "--exec", message: "'\(command)' \(exitDescription ?? "exited") before accepting connections: \(outputTail)")
            }
            if Self.accepts(target) { return }
            usleep(50_000)
        }
        stop()
        throw BasetapError.input(place: "--exec", message: "'\(command)' did not accept connections on \(target.authority) within \(Int(timeout)) s")
    }

    /// nil while running; otherwise how it ended.
    public var exitDescription: String? {
        guard let process, !process.isRunning else { return nil }
        switch process.terminationReason {
        case .uncaughtSignal: return "was killed by signal \(process.terminationStatus)"
        default: return "exited with status \(process.terminationStatus)"
        }
    }

    /// The last lines the server printed (standard output and error together).
    public var outputTail: String {
        lock.lock()
        defer { lock.unlock() }
        let lines = String(decoding: tail, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).suffix(20)
        return lines.joined(separator: "\n")
    }

    /// After a case that went wrong: nil when the server still completes `handshake`, else how it
    /// ended (waiting a moment for the exit to be seen). A bare TCP connect is not enough: the kernel
    /// completes it for a process that is in the middle of dying.
    public func deathAfterCase(handshake: () -> Bool) -> String? {
        if exitDescription == nil && handshake() { return nil }
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline {
            if let exit = exitDescription { return exit }
            usleep(20_000)
        }
        return exitDescription ?? "stopped accepting connections"
    }

    /// What the server printed last before its most recent restart: the crash's own words.
    public private(set) var outputBeforeRestart = ""

    public func restart() throws {
        stop()
        outputBeforeRestart = outputTail
        lock.lock()
        tail.removeAll()
        lock.unlock()
        restarts += 1
        try start()
    }

    public func stop() {
        guard let process else { return }
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        (process.standardOutput as? Pipe)?.fileHandleForReading.readabilityHandler = nil
        self.process = nil
    }

    static func accepts(_ target: ProxyTarget) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(target.host, String(target.port), &hints, &list) == 0, let first = list else { return false }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        defer { close(fd) }
        return connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0
    }
}

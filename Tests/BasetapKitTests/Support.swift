import Foundation
import Testing
@testable import BasetapKit

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func capturePath(_ name: String) -> String {
    repositoryRoot.appendingPathComponent("Captures").appendingPathComponent(name).path
}

/// The basetap executable built beside the test bundle.
let basetapExecutable: String = {
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("basetap")
    if FileManager.default.isExecutableFile(atPath: beside.path) { return beside.path }
    return repositoryRoot.appendingPathComponent(".build/debug/basetap").path
}()

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs basetap with `arguments`, feeding `input` on standard input.
func runBasetap(_ arguments: [String], input: String? = nil) throws -> ProcessResult {
    signal(SIGPIPE, SIG_IGN)  // a child that exits before reading all of `input` must not end the test run
    let process = Process()
    process.executableURL = URL(fileURLWithPath: basetapExecutable)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["NO_COLOR"] = "1"
    process.environment = environment
    let out = Pipe(), err = Pipe(), inPipe = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inPipe
    try process.run()
    // Read both pipes concurrently so that a large output cannot fill one and stall the child.
    nonisolated(unsafe) var errData = Data()
    let errRead = DispatchSemaphore(value: 0)
    Thread {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        errRead.signal()
    }.start()
    if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try inPipe.fileHandleForWriting.close()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    errRead.wait()
    return ProcessResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// Waits until `condition` holds, asking it again each time `next` returns: `next` blocks until
/// something the condition reads may have changed (an event), or until the deadline it is given.
/// Fails with `what` after `seconds`. Whatever `next` waits on must be set up before the first
/// ask: a change after it is then an event, and one before it is seen by the ask.
func waitUntil(_ what: String, seconds: Double = 20, wakingOn next: (DispatchTime) -> Void, _ condition: () throws -> Bool) throws {
    let deadline = DispatchTime.now() + seconds
    while try !condition() {
        guard DispatchTime.now() < deadline else { throw BasetapError.usage("timed out after \(seconds) s waiting for \(what)") }
        next(deadline)
    }
}

/// Waits until `condition`, which reads files in `directory`, holds: asked again whenever a file
/// there is created, written, read or closed (inotify).
func waitUntil(_ what: String, seconds: Double = 20, changesIn directory: String, _ condition: () throws -> Bool) throws {
    let changes = try FileChanges(directory)
    try waitUntil(what, seconds: seconds, wakingOn: changes.next, condition)
}

/// Changes to a file, or to the files of a directory, from inotify.
final class FileChanges {
    private let fd: Int32

    /// `events`: inotify's mask, by default a file created, written, read or closed after writing.
    init(_ path: String, events: Int32 = IN_CREATE | IN_MODIFY | IN_ACCESS | IN_CLOSE_WRITE) throws {
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0, inotify_add_watch(fd, path, UInt32(events)) >= 0 else {
            throw BasetapError.usage("cannot watch \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    /// Returns at the next change (those since the last call count), or at `deadline`.
    func next(_ deadline: DispatchTime) {
        guard Readiness.readable(fd, until: deadline) else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read(fd, &buffer, buffer.count) > 0 {}
    }
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("basetap-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func writeFile(_ text: String, named name: String, in directory: URL) throws -> String {
    let url = directory.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url.path
}

import Foundation
import Testing
@testable import BasetapKit

@Suite struct OutputFileTests {
    /// Everything given is written, in order, through a pipe that takes a little at a time.
    @Test func everythingReachesASlowReaderInOrder() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let readEnd = fds[0]
        let output = OutputFile(fd: fds[1], name: "pipe", capacity: 1 << 16, ownsDescriptor: true)
        let expected = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        final class Received: @unchecked Sendable { var bytes: [UInt8] = [] }
        let received = Received()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            var chunk = [UInt8](repeating: 0, count: 1000)
            while true {
                let n = read(readEnd, &chunk, chunk.count)
                if n <= 0 { break }
                received.bytes += chunk[..<n]
            }
            close(readEnd)
            done.signal()
        }
        for start in stride(from: 0, to: expected.count, by: 7_001) {
            try output.write(Array(expected[start..<min(expected.count, start + 7_001)]))
        }
        try output.close()
        #expect(done.wait(timeout: .now() + 60) == .success, "the reader saw the end")
        #expect(received.bytes == expected)
    }

    @Test func nothingIsWrittenBeforeTheBufferFillsOrAFlush() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("out.jsonl").path
        let output = try OutputFile(path: path)
        try output.write("line\n")
        try output.append { $0 += Array("more\n".utf8) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
        try output.flush()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "line\nmore\n")
        try output.write([UInt8](repeating: 0x61, count: 1 << 16))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == 10 + (1 << 16), "a full buffer is written at once")
        try output.close()
    }

    /// A full disk is an error naming the file, not data silently dropped.
    @Test func aFullDiskIsAnErrorNamingTheFile() throws {
        let output = try OutputFile(path: "/dev/full")
        try output.write("x")
        #expect(throws: BasetapError.input(place: "/dev/full", message: "write failed: No space left on device")) { try output.flush() }
        #expect(throws: BasetapError.input(place: "/nonexistent/dir/out.pcap", message: "cannot create: No such file or directory")) {
            _ = try OutputFile(path: "/nonexistent/dir/out.pcap")
        }
    }
}

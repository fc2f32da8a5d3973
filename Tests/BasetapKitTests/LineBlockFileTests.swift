import Foundation
import Testing
@testable import BasetapKit

@Suite struct LineBlockFileTests {
    /// The blocks of a file, each as its bytes, and the error that ended them, if any.
    static func blocks(of contents: [UInt8], maxLineLength: Int = JSONLCaptureReader.defaultMaxLineLength) throws -> (blocks: [[UInt8]], error: String?) {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("capture.jsonl").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(contents)))
        let file = try LineBlockFile(path: path, maxLineLength: maxLineLength)
        var blocks: [[UInt8]] = []
        var position = 0, lines = 0
        do {
            while let range = try file.block(at: position, linesBefore: lines) {
                var bytes = [UInt8](repeating: 0, count: range.count)
                try bytes.withUnsafeMutableBytes { try file.read(range, into: $0.baseAddress!) }
                blocks.append(bytes)
                lines += bytes.filter { $0 == 0x0A }.count
                position = range.upperBound
            }
        } catch {
            return (blocks, "\(error)")
        }
        return (blocks, nil)
    }

    /// Another program truncates the file while it is read: what was there is read, then the next
    /// read says the file was cut short, naming it.
    @Test func aFileCutShortIsAnErrorAtTheNextRead() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("capture.jsonl").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(String(repeating: "{}\n", count: 10_000).utf8)))
        let file = try LineBlockFile(path: path)
        #expect(truncate(path, 999) == 0)
        var bytes = [UInt8](repeating: 0, count: 2000)
        try bytes.withUnsafeMutableBytes { try file.read(0..<999, into: $0.baseAddress!) }
        #expect(bytes[998] == 0x0A)
        #expect(throws: BasetapError.input(place: path, message: "the file was cut short while it was being read (another program truncated it)")) {
            try bytes.withUnsafeMutableBytes { try file.read(500..<2000, into: $0.baseAddress!) }
        }
    }

    /// The same, end to end: `check --jobs 2` names the file and exits 2.
    @Test func aFileCutShortWhileCheckReadsItIsAClearError() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("capture.jsonl").path
        let record = ##"{"ts":"2026-11-24T10:00:00.000000Z","conn":"c1","dir":"c2s","kind":"text","text":"{\"id\":\"m1\",\"type\":\"chat.send\",\"from\":\"@a@x\",\"to\":\"#g:x\",\"payload\":{}}"}"##
        let chunk = Data(String(repeating: record + "\n", count: 10_000).utf8)
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        for _ in 0..<40 { writer.write(chunk) }  // 60 MB: seconds of checking for a debug build
        try writer.close()

        // Each read of the file is an event (watched before basetap starts); past 4 MB read, basetap
        // has long taken the file's size.
        let reads = try FileChanges(path, events: IN_ACCESS)
        let check = try Peer(basetapExecutable, ["check", "--quiet", "--jobs", "2", path])
        defer { _ = check.stop(SIGKILL) }
        try waitUntil("basetap to read some of the file", wakingOn: reads.next) {
            Self.bytesRead(by: check.process.processIdentifier) > 4 << 20 || !check.process.isRunning
        }
        #expect(truncate(path, 1000) == 0)
        let text = check.finish()
        #expect(check.process.terminationReason == .exit && check.process.terminationStatus == 2, "\(text)")
        #expect(text == "basetap: \(path): the file was cut short while it was being read (another program truncated it)\n", "\(text)")
    }

    /// The bytes a process has read so far, as /proc counts them.
    static func bytesRead(by pid: Int32) -> Int {
        let io = (try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8)) ?? ""
        return io.split(separator: "\n").first { $0.hasPrefix("rchar:") }.flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) } ?? 0
    }

    /// Lines of every length around the block size, the block size itself being no multiple of a
    /// page: the blocks are the file, in order, each ending with a newline but for a last line without one.
    @Test func blocksAreTheFileCutAfterNewlines() throws {
        var random = FuzzRandom(seed: 5)
        var contents: [UInt8] = []
        while contents.count < 3 * LineBlockFile.blockBytes {
            let length = Int(random.next() % 3 == 0 ? random.next() % UInt64(LineBlockFile.blockBytes + 9000) : random.next() % 400)
            contents += [UInt8](repeating: UInt8(ascii: "a") + UInt8(contents.count % 26), count: length) + [0x0A]
        }
        for ending: [UInt8] in [[], Array("last line without a newline\r".utf8)] {
            let (blocks, error) = try Self.blocks(of: contents + ending)
            #expect(error == nil)
            #expect(blocks.count > 3)
            #expect(Array(blocks.joined()) == contents + ending)
            for block in blocks.dropLast() { #expect(block.last == 0x0A) }
        }
    }

    @Test func anEmptyFileHasNoBlock() throws {
        let (blocks, error) = try Self.blocks(of: [])
        #expect(blocks.isEmpty && error == nil)
    }

    /// The lines before a line past the limit are all read; then the error names it, as `LineReader`'s does.
    @Test func aLinePastTheLimitEndsTheBlocksNamingIt() throws {
        let lines = Array((1...3).map { "line \($0)\n" }.joined().utf8)
        for tooLong: [UInt8] in [[UInt8](repeating: 0x78, count: 100) + [0x0A, 0x7B, 0x7D, 0x0A], [UInt8](repeating: 0x78, count: 100)] {
            let (blocks, error) = try Self.blocks(of: lines + tooLong, maxLineLength: 64)
            #expect(Array(blocks.joined()) == lines)
            #expect(error?.hasSuffix(":4: line is longer than 64 bytes") == true, "\(error ?? "")")
        }
    }
}

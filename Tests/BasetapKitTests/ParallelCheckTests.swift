import Foundation
import Testing
@testable import BasetapKit

/// `check --jobs N` prints byte for byte what one checker prints: the findings in line order, the
/// summary, skipped and malformed lines, filters, both output formats.
@Suite struct ParallelCheckTests {
    /// Many copies of the typical-mistakes session, each its own connection, interleaved at random
    /// (each connection's records in order) over more lines than one block holds. Some records name
    /// their connection in ways only a parse reads (spaces, `conn` after another member, a `\u`
    /// escape for a letter that other lines of the same connection write plainly).
    static func interleavedCapture(connections: Int, badLines: Bool = false) throws -> String {
        let session = try String(contentsOfFile: capturePath("typical-mistakes.jsonl"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.contains("\"format\"") }
        var queues = (0..<connections).map { n in
            session.map { line in line.replacingOccurrences(of: "\"conn\":\"c1\"", with: "\"conn\":\"conn-A\(n)\"") }[...]
        }
        var random = FuzzRandom(seed: 7)
        var lines = [#"{"format":"basetap-capture","version":1}"#]
        var remaining = Array(queues.indices)
        while !remaining.isEmpty {
            let pick = Int(random.next() % UInt64(remaining.count))
            var line = queues[remaining[pick]].removeFirst()
            switch lines.count % 9 {
            case 3: line = line.replacingOccurrences(of: "\"conn\":\"conn-A", with: "\"conn\": \"conn-A")
            case 5: line = line.replacingOccurrences(of: "\"conn\":\"conn-A", with: "\"conn\":\"conn-\\u0041")
            case 7: line = line.replacingOccurrences(of: "{\"ts\":", with: "{\"frames\":[],\"ts\":")
            default: break
            }
            lines.append(line)
            if badLines && lines.count % 997 == 0 { lines.append("{not json") }
            if queues[remaining[pick]].isEmpty { remaining.remove(at: pick) }
        }
        let directory = try temporaryDirectory()
        return try writeFile(lines.joined(separator: "\n") + "\n", named: "interleaved.jsonl", in: directory)
    }

    static func expectSame(_ arguments: [String], jobs: [Int] = [2, 3, 8]) throws {
        let one = try runBasetap(["check", "--jobs", "1"] + arguments)
        #expect(!one.stdout.isEmpty || !one.stderr.isEmpty)
        for n in jobs {
            let many = try runBasetap(["check", "--jobs", "\(n)"] + arguments)
            #expect(many.status == one.status, "--jobs \(n) \(arguments)")
            #expect(many.stdout == one.stdout, "--jobs \(n) \(arguments): standard output differs")
            #expect(many.stderr == one.stderr, "--jobs \(n) \(arguments): \(many.stderr) vs \(one.stderr)")
        }
    }

    @Test func theSamplesCheckTheSameWithAnyNumberOfJobs() throws {
        for name in ["typical-mistakes.jsonl", "clean-session.jsonl", "fuzz-seed.jsonl", "seed-error-example.jsonl"] {
            try Self.expectSame([capturePath(name)])
            try Self.expectSame(["--format", "jsonl", capturePath(name)])
        }
        try Self.expectSame([capturePath("typical-mistakes.jsonl"), capturePath("clean-session.jsonl")])
    }

    /// A pipe can be read once: it is checked by one checker whatever --jobs says.
    @Test func aPipeIsCheckedByOne() throws {
        let script = "cat \(capturePath("typical-mistakes.jsonl")) | \(basetapExecutable) check --jobs 3 /dev/stdin"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1 && text.contains("Checked 13 messages in 1 connection: 16 errors, 7 warnings."), "\(text)")
    }

    @Test func interleavedConnectionsOverManyBlocksCheckTheSame() throws {
        let path = try Self.interleavedCapture(connections: 2_100)
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let one = try runBasetap(["check", "--jobs", "1", path])
        #expect(one.status == 1 && one.stdout.contains("Checked 27300 messages in 2100 connections: 33600 errors, 14700 warnings."), "\(one.stdout.suffix(300))")
        try Self.expectSame([path], jobs: [2, 5])
        try Self.expectSame(["--format", "jsonl", "--filter", "dir:s2c severity:warning", path], jobs: [3])
    }

    @Test func malformedLinesAreSkippedOrStopTheRunAsWithOneJob() throws {
        let path = try Self.interleavedCapture(connections: 300, badLines: true)
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let stopped = try runBasetap(["check", "--jobs", "3", path])
        #expect(stopped.status == 2 && stopped.stderr.hasPrefix("basetap: \(path):998: not JSON"), "\(stopped.stderr)")
        try Self.expectSame([path], jobs: [3])
        try Self.expectSame(["--skip-bad-lines", path], jobs: [2, 3])
    }

    /// CRLF endings, blank lines, a header in the middle of nowhere and a last line without a
    /// newline: the lines the workers split are those one reader reads.
    @Test func lineEndingsSplitAsWithOneJob() throws {
        let session = try String(contentsOfFile: capturePath("typical-mistakes.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let text = session.enumerated().map { $0.offset % 3 == 1 ? $0.element + "\r\n\n" : $0.element + "\n" }.joined()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try writeFile(String(text.dropLast()), named: "endings.jsonl", in: directory)
        let one = try runBasetap(["check", "--jobs", "1", path])
        #expect(one.stdout.contains("Checked 13 messages in 1 connection: 16 errors, 7 warnings."), "\(one.stdout)")
        try Self.expectSame([path], jobs: [2, 3])
    }

    /// Runs of empty lines make blocks small (a line split ahead of its check costs memory whatever
    /// its length); records among them check as with one job, with their line numbers.
    @Test func runsOfEmptyLinesCheckTheSame() throws {
        let path = try Self.interleavedCapture(connections: 600, badLines: true)
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let padded = lines.enumerated().map { $0.offset % 7 == 3 ? $0.element + String(repeating: "\n", count: 3_000) : String($0.element) }
        try padded.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try Self.expectSame(["--skip-bad-lines", path], jobs: [2, 3])
        try Self.expectSame([path], jobs: [2])
    }

    /// Lines longer than a job's share of a block, and longer than a block, at random places: a
    /// share with no line ending in it, a line begun several shares before, a `\r\n` cut between
    /// two shares. The jobs split the lines one reader reads.
    @Test func linesLongerThanAShareCheckTheSame() throws {
        let path = try Self.interleavedCapture(connections: 150)
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        var random = FuzzRandom(seed: 11)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").enumerated().map { n, line in
            guard n > 0 && n % 37 == 0 else { return n % 5 == 0 ? line + "\r" : String(line) }
            let length = Int(random.next() % (n % 10 == 0 ? 3_000_000 : 600_000))
            return line.replacingOccurrences(of: "{\"ts\":", with: "{\"pad\":\"\(String(repeating: "x", count: length))\",\"ts\":") + "\r"
        }
        #expect(lines.contains { $0.utf8.count > LineBlockFile.blockBytes })
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let one = try runBasetap(["check", "--jobs", "1", path])
        #expect(one.status == 1 && one.stdout.contains("Checked 1950 messages in 150 connections: 2400 errors, 1050 warnings."), "\(one.stdout.suffix(300))")
        try Self.expectSame([path], jobs: [2, 3, 8])
    }
}

import Foundation
import Testing
@testable import BasetapKit

@Suite struct LineReaderTests {
    static func lines(_ text: [UInt8], maxLineLength: Int = 1 << 30) throws -> [(String, Int)] {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("lines").path
        try Data(text).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var reader = LineReader(fd: fd, name: "lines", maxLineLength: maxLineLength)
        var out: [(String, Int)] = []
        while try reader.next({ line, number in out.append((String(decoding: line, as: UTF8.self), number)) }) != nil {}
        return out
    }

    @Test func linesAcrossChunksWithCRLFAndNoLastNewline() throws {
        // Lines that straddle the 1 MiB read chunk, a CRLF, an empty line, and no newline at the end.
        let long = String(repeating: "x", count: LineReader.chunk - 3)
        let text = Array("first\r\n\(long)\nafter\n\nlast".utf8)
        let read = try Self.lines(text)
        #expect(read.map(\.0) == ["first", long, "after", "", "last"])
        #expect(read.map(\.1) == [1, 2, 3, 4, 5])
    }

    @Test func aLineLongerThanTheLimitIsAnErrorNamingIt() throws {
        let text = Array(("ok\n" + String(repeating: "y", count: 3 * LineReader.chunk) + "\n").utf8)
        #expect(throws: BasetapError.input(place: "lines:2", message: "line is longer than \(2 * LineReader.chunk) bytes")) {
            _ = try Self.lines(text, maxLineLength: 2 * LineReader.chunk)
        }
    }
}

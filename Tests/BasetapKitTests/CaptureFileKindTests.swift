import Foundation
import Testing
@testable import BasetapKit

@Suite struct CaptureFileKindTests {
    @Test func formatsAreToldApartByTheirFirstBytes() {
        let pcapMagics: [[UInt8]] = [[0xD4, 0xC3, 0xB2, 0xA1], [0xA1, 0xB2, 0xC3, 0xD4], [0x4D, 0x3C, 0xB2, 0xA1], [0xA1, 0xB2, 0x3C, 0x4D]]
        for magic in pcapMagics { #expect(CaptureFileKind.detect(head: magic + [0, 0]) == .pcap, "\(magic)") }
        #expect(CaptureFileKind.detect(head: [0x0A, 0x0D, 0x0D, 0x0A, 0x1C, 0, 0, 0]) == .pcapng)
        #expect(CaptureFileKind.detect(head: Array(#"{"format":"basetap-capture","version":1}"#.utf8)) == .jsonl)
        #expect(CaptureFileKind.detect(head: Array(#"{"ts":"2026-11-24T10:00:00Z","conn":"c1","kind":"open"}"#.utf8)) == .jsonl)
        #expect(CaptureFileKind.detect(head: [0xEF, 0xBB, 0xBF] + Array("\r\n  {\n\t  \"log\": {".utf8)) == .har, "a BOM, then any indentation")
        #expect(CaptureFileKind.detect(head: Array(#"{"logs":1}"#.utf8)) == .jsonl, "\"logs\" is not \"log\"")
        #expect(CaptureFileKind.detect(head: []) == .jsonl)
        #expect(CaptureFileKind.detect(head: [0xD4, 0xC3]) == .jsonl, "too short for a magic")
    }

    @Test func filesAreOpenedAndPipesAreNotReadAhead() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pcap = directory.appendingPathComponent("capture.bin").path
        try Data([0x0A, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0]).write(to: URL(fileURLWithPath: pcap))
        #expect(try CaptureFileKind.detect(path: pcap) == .pcapng, "the name does not matter")
        #expect(CaptureFileKind.isRegularFile(pcap))
        // A FIFO is taken as JSONL without opening it: opening would wait for a writer, and a look
        // would take bytes the reader never sees.
        let fifo = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(try CaptureFileKind.detect(path: fifo) == .jsonl)
        #expect(!CaptureFileKind.isRegularFile(fifo))
        #expect(try CaptureFileKind.detect(path: "-") == .jsonl)
        #expect(!CaptureFileKind.isRegularFile("-"))
        #expect(throws: BasetapError.input(place: directory.appendingPathComponent("none").path, message: "no such file")) {
            _ = try CaptureFileKind.detect(path: directory.appendingPathComponent("none").path)
        }
    }
}

import Foundation
import Testing
@testable import BasetapKit

@Suite struct JSONLCaptureTests {
    private func records(_ text: String, skipBadLines: Bool = false) throws -> [CaptureRecord] {
        let reader = JSONLCaptureReader(bytes: Array(text.utf8), name: "t.jsonl")
        reader.malformed = MalformedLines(skip: skipBadLines)
        return try reader.readAll()
    }

    @Test func writesAndReadsBackEveryMember() throws {
        var open = CaptureRecord(ts: "2026-11-24T10:00:00.123456Z", conn: "c1", kind: .open)
        open.url = "/ws?x=1"
        open.headers = [.init("Host", "h"), .init("Sec-WebSocket-Protocol", "a, b")]
        open.subprotocol = "a"
        open.extensions = "permessage-deflate"
        open.client = "127.0.0.1:1"
        open.server = "[::1]:2"
        var text = CaptureRecord.text("{\"id\":\"1\"}\n\u{1}é", conn: "c1", dir: .c2s, ts: "2026-11-24T10:00:01.000000Z")
        text.frames = [.init(fin: false, opcode: 1, rsv: 4, length: 3, masked: true), .init(fin: true, opcode: 0, rsv: 0, length: 9, masked: true)]
        text.mutation = .init(seed: 42, ops: ["envelope.drop:/id"])
        text.unknown = [.init("future", .object([.init("x", .array([.number("1"), .null]))]))]
        var invalid = CaptureRecord(ts: "2026-11-24T10:00:02.000000Z", conn: "c1", dir: .s2c, kind: .text, payload: [0x7B, 0xFF, 0x7D])
        invalid.frames = nil
        let binary = CaptureRecord(ts: "2026-11-24T10:00:03.000000Z", conn: "c1", dir: .s2c, kind: .binary, payload: [0, 1, 2, 255])
        var close = CaptureRecord(ts: "2026-11-24T10:00:04.000000Z", conn: "c1", dir: .c2s, kind: .close)
        close.code = 1001
        close.reason = "going away"
        var end = CaptureRecord(ts: "2026-11-24T10:00:05.000000Z", conn: "c1", kind: .end)
        end.error = "connection reset by peer"
        let all = [open, text, invalid, binary, close, end]
        var out = Array((CaptureRecord.headerLine + "\n").utf8)
        for record in all { record.appendJSONLine(into: &out) }
        let text2 = String(decoding: out, as: UTF8.self)
        #expect(text2.contains(#""base64":"e/99""#))
        #expect(try records(text2) == all)
    }

    @Test func keepsUnknownMembersWhenCopying() throws {
        let line = #"{"ts":"t","conn":"c","dir":"c2s","kind":"text","text":"{}","zeta":[1,{"b":true}],"alpha":"x"}"#
        let record = try #require(try records(line).first)
        #expect(record.unknown.map(\.key) == ["zeta", "alpha"])
        #expect(record.jsonLine == line + "\n")
    }

    @Test func acceptsHeaderCRLFAndBlankLinesAndAMissingFinalNewline() throws {
        let text = "{\"format\":\"basetap-capture\",\"version\":1}\r\n\n  \n{\"conn\":\"c\",\"kind\":\"open\"}\r\n{\"conn\":\"c\",\"kind\":\"end\"}"
        #expect(try records(text).map(\.kind) == [.open, .end])
        #expect(try records("").isEmpty)
    }

    @Test(arguments: [
        ("not json", "not JSON"),
        ("[1]", "must be a JSON object"),
        (#"{"kind":"open"}"#, "no \"conn\""),
        (#"{"conn":"c"}"#, "no \"kind\""),
        (#"{"conn":"c","kind":"texts"}"#, "unknown kind"),
        (#"{"conn":"c","kind":"text","text":"{}"}"#, "needs \"dir\""),
        (#"{"conn":"c","dir":"up","kind":"text","text":"{}"}"#, "\"c2s\" or \"s2c\""),
        (#"{"conn":"c","dir":"c2s","kind":"text"}"#, "needs \"text\" or \"base64\""),
        (#"{"conn":"c","dir":"c2s","kind":"binary","base64":"%%%"}"#, "not valid base64"),
        (#"{"conn":1,"kind":"open"}"#, "\"conn\" must be a string"),
        (#"{"format":"basetap-capture","version":2}"#, "version 2 is not supported"),
        (#"{"format":"pcap","version":1}"#, "unknown capture format"),
    ])
    func namesTheLineOfAMalformedRecord(line: String, words: String) {
        let text = #"{"conn":"c","kind":"open"}"# + "\n" + line + "\n"
        do {
            _ = try records(text)
            Issue.record("accepted \(line)")
        } catch let error as BasetapError {
            #expect(error.description.hasPrefix("t.jsonl:2: "), "\(error)")
            #expect(error.description.contains(words), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func skipsAndCountsBadLinesWhenAsked() throws {
        let text = "oops\n" + #"{"conn":"c","kind":"open"}"# + "\n{\n" + #"{"conn":"c","kind":"end"}"#
        let reader = JSONLCaptureReader(bytes: Array(text.utf8), name: "t.jsonl")
        reader.malformed = MalformedLines(skip: true)
        #expect(try reader.readAll().count == 2)
        #expect(reader.malformed.count == 2)
        #expect(reader.malformed.first?.text.hasPrefix("t.jsonl:1: not JSON") == true)
    }

    @Test func streamsLinesLongerThanTheReadChunkFromAFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let big = String(repeating: "x", count: 3 << 20)
        var text = ""
        for i in 0..<3 {
            text += CaptureRecord.text(#"{"id":"\#(i)","pad":"\#(big)"}"#, conn: "c", dir: .c2s, ts: "t").jsonLine
        }
        let path = try writeFile(text, named: "big.jsonl", in: directory)
        let reader = try JSONLCaptureReader(path: path)
        var sizes: [Int] = []
        try reader.forEach { sizes.append($0.payload.count) }
        #expect(sizes.count == 3)
        #expect(sizes.allSatisfy { $0 > 3 << 20 })
    }

    @Test func refusesLinesPastTheLimitNamingTheLine() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try writeFile(#"{"conn":"c","kind":"open"}"# + "\n" + String(repeating: " ", count: 3 << 20) + "\n", named: "long.jsonl", in: directory)
        let reader = try JSONLCaptureReader(path: path, maxLineLength: 2 << 20)
        #expect(throws: BasetapError.input(place: "\(path):2", message: "line is longer than \(2 << 20) bytes")) {
            try reader.forEach { _ in }
        }
    }

    @Test func convertsTimestamps() {
        #expect(CaptureTime.format(seconds: 1_764_000_000, microseconds: 42) == "2025-11-24T16:00:00.000042Z")
        #expect(CaptureTime.seconds("2025-11-24T16:00:00.5Z") == 1_764_000_000.5)
        #expect(CaptureTime.seconds("2025-11-24T18:00:00+02:00") == 1_764_000_000)
        #expect(CaptureTime.seconds("yesterday") == nil)
    }
}

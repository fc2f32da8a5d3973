import Foundation
import Testing
@testable import BasetapKit

/// HAR files as browsers' DevTools export them, in Chrome's shape and in Firefox's: checked,
/// decoded and replayed against a real server.
@Suite(.serialized) struct HARReaderTests {
    /// The session of `ReplayTests.capture` (seven requests and their answers, Closes) as a
    /// browser's HAR: `shape` "chrome" (HAR 1.2, `_resourceType`, UTC times, a page's document
    /// entry first) or "firefox" (HAR 1.1, no `_resourceType`, times with an offset).
    static func har(in directory: URL, shape: String, extra: [JSONValue] = []) throws -> String {
        let records = try JSONLCaptureReader(path: try ReplayTests.capture(in: directory)).readAll()
        let open = records[0]
        let messages = records.filter(\.kind.isMessage).map { record -> JSONValue in
            .object([.init("type", .string(record.dir == .c2s ? "send" : "receive")),
                     .init("time", .number(String(format: "%.6f", CaptureTime.seconds(record.ts)!))),
                     .init("opcode", .number("1")), .init("data", .string(record.text!))])
        } + extra
        let chrome = shape == "chrome"
        let started = chrome ? open.ts : "2026-09-21T15:13:20.000+01:00"  // the same instant as the Chrome one's
        func pairs(_ headers: [(String, String)]) -> JSONValue {
            .array(headers.map { .object([.init("name", .string($0.0)), .init("value", .string($0.1))]) })
        }
        var entry: [JSONValue.Member] = [
            .init("startedDateTime", .string(started)), .init("time", .number("1060.5")),
            .init("request", .object([
                .init("method", .string("GET")), .init("url", .string("ws://old.example.org/replay?c=1")), .init("httpVersion", .string("HTTP/1.1")),
                .init("headers", pairs((open.headers ?? []).map { ($0.name, $0.value) })), .init("queryString", .array([])),
                .init("cookies", .array([])), .init("headersSize", .number("231")), .init("bodySize", .number("0")),
            ])),
            .init("response", .object([
                .init("status", .number("101")), .init("statusText", .string("Switching Protocols")), .init("httpVersion", .string("HTTP/1.1")),
                .init("headers", pairs([("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")])),
            ])),
            .init("serverIPAddress", .string("192.0.2.7")),
            .init("_webSocketMessages", .array(messages)),
        ]
        if chrome { entry.insert(.init("_resourceType", .string("websocket")), at: 0) }
        let page = JSONValue.object([
            .init("startedDateTime", .string(started)), .init("time", .number("3.1")),
            .init("request", .object([.init("method", .string("GET")), .init("url", .string("http://old.example.org/")), .init("headers", .array([]))])),
            .init("response", .object([.init("status", .number("200")), .init("headers", .array([]))])),
        ] + (chrome ? [.init("_resourceType", .string("document"))] : []))
        let document = JSONValue.object([.init("log", .object([
            .init("version", .string(chrome ? "1.2" : "1.1")),
            .init("creator", .object([.init("name", .string(chrome ? "WebInspector" : "Firefox")), .init("version", .string(chrome ? "537.36" : "133.0"))])),
            .init("entries", .array([page, .object(entry)])),
        ]))])
        let path = directory.appendingPathComponent("\(shape).har").path
        try document.prettyText().write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(arguments: ["chrome", "firefox"])
    func aBrowsersHARIsCheckedDecodedAndReplayed(shape: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = JSONValue.object([.init("type", .string("receive")), .init("time", .number("1790000001.5")),
                                       .init("opcode", .number("2")), .init("data", .string("AAEC/w=="))])
        let path = try Self.har(in: directory, shape: shape, extra: [binary])
        #expect(try CaptureFileKind.detect(path: path) == .har)

        let check = try runBasetap(["check", path])
        #expect(check.stdout.contains("Checked 15 messages in 1 connection"), "\(check.stdout)\(check.stderr)")

        let out = directory.appendingPathComponent("decoded.jsonl").path
        let decode = try runBasetap(["decode", path, "-o", out])
        #expect(decode.status == 0, "\(decode.stderr)")
        #expect(decode.stderr.contains("Read 1 WebSocket connection, 15 messages"))
        let records = try JSONLCaptureReader(path: out).readAll()
        #expect(records.first?.kind == .open && records.first?.url == "/replay?c=1" && records.first?.server == "192.0.2.7:80")
        #expect(records.first?.ts == "2026-09-21T14:13:20.000000Z", "Firefox's offset and Chrome's Z are the same instant")
        #expect(records.filter { $0.kind == .text && $0.dir == .c2s }.count == 7)
        #expect(records.first { $0.kind == .binary }?.payload == [0, 1, 2, 255])
        #expect(records.last?.kind == .end)

        let view = try Peer(basetapExecutable, ["view", path, "--listen", "127.0.0.1:0", "--token", "tok"])
        defer { _ = view.stop(SIGINT) }
        let port = try view.port(after: " on http://127.0.0.1:")
        try view.waitFor("records read")
        #expect(WebInspectorTests.json(WebInspectorTests.http(port, "GET", "/api/timeline?filter=").1)["count"]?.numberText == "15")

        let server = try ReplayTests.server("same")
        defer { _ = server.stop() }
        let replay = try runBasetap(["replay", path, "--target", "ws://127.0.0.1:\(try server.port())", "--pace", "fast", "--conn", "h1"])
        #expect(replay.stdout.contains("h1 /replay?c=1: 7 sent"), "\(replay.stdout)\(replay.stderr)")
    }

    @Test func aBrokenHARNamesThePlace() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let wrong = JSONValue.object([.init("type", .string("sent")), .init("time", .number("1")), .init("opcode", .number("1")), .init("data", .string("x"))])
        let path = try Self.har(in: directory, shape: "chrome", extra: [wrong])
        let result = try runBasetap(["check", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(path): log.entries[1]._webSocketMessages[14]: \"type\" must be \"send\" or \"receive\""), "\(result.stderr)")
        let cut = directory.appendingPathComponent("cut.har").path
        try Data(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(300)).write(to: URL(fileURLWithPath: cut))
        let truncated = try runBasetap(["decode", cut])
        #expect(truncated.status == 2 && truncated.stderr.hasPrefix("basetap: \(cut): not a HAR file"), "\(truncated.stderr)")
    }
}

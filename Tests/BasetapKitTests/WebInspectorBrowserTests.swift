import Foundation
import Testing
@testable import BasetapKit

/// The inspector's page in a real browser: Debian's chromium, headless, driven through the DevTools
/// protocol by `Tests/Peers/browser.py`. Screenshots go to `.build/screenshots`.
@Suite struct WebInspectorBrowserTests {
    static let script = ProxyTests.peers.appendingPathComponent("browser.py").path
    static let shots = repositoryRoot.appendingPathComponent(".build/screenshots").path

    static func lines(_ output: String) -> [JSONValue] {
        output.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) }
    }

    @Test func aCaptureOpensWithItsViolationsOnTheirMembersAndTheFilterWorks() throws {
        let capture = repositoryRoot.appendingPathComponent("Captures/typical-mistakes.jsonl").path
        let view = try Peer(basetapExecutable, ["view", capture, "--listen", "127.0.0.1:0", "--token", "tok"])
        defer { _ = view.stop(SIGINT) }
        let port = try view.port(after: " on http://127.0.0.1:")
        let browser = try Peer(PcapFixtures.python, [Self.script, "capture", "http://127.0.0.1:\(port)/?token=tok", Self.shots])
        let output = browser.finish()
        #expect(browser.process.terminationStatus == 0, "\(output)")
        let steps = Self.lines(output)
        // The member outlined is one the opened message's violations name.
        let opened = try #require(steps.first { $0["opened"] != nil })
        let seq = opened["opened"]!.numberText!
        let message = WebInspectorTests.json(WebInspectorTests.http(port, "GET", "/api/messages/\(seq)").1)
        let pointers = (message["violations"]?.arrayValue ?? []).compactMap { $0["pointer"]?.stringValue }
        #expect(pointers.contains(opened["marked"]?["pointer"]?.stringValue ?? "?"), "\(opened) vs \(pointers)")
        // Typing a filter shows what the API says it matches.
        let filtered = try #require(steps.first { $0["filtered"] != nil })
        let matching = WebInspectorTests.json(WebInspectorTests.http(port, "GET", "/api/messages?filter=severity:error").1).arrayValue ?? []
        #expect(filtered["filtered"]?.numberText == String(matching.count) && !matching.isEmpty)
        let error = try #require(steps.first { $0["error"] != nil })["error"]?.stringValue
        #expect(error?.contains("^ filter at column 13: '(' at column 8 is never closed") == true, "\(error ?? "")")
        #expect(FileManager.default.fileExists(atPath: Self.shots + "/inspector-message.png"))
    }

    @Test func aLongCaptureIsATimelineOneJumpFromAnyMessage() throws {
        let directory = try temporaryDirectory()
        let capture = directory.appendingPathComponent("long.jsonl").path
        let writer = try JSONLCaptureWriter(path: capture)
        let ts = "2026-12-02T08:00:00.000000Z"
        try writer.write(CaptureRecord(ts: ts, conn: "c1", kind: .open))
        for n in 0..<40_000 {
            try writer.write(.text("{\"id\":\"\(n / 2)\",\"type\":\"chat.send\",\"payload\":{}}", conn: "c1", dir: n % 2 == 0 ? .c2s : .s2c, ts: ts))
        }
        try writer.close()
        let view = try Peer(basetapExecutable, ["view", capture, "--listen", "127.0.0.1:0", "--token", "tok"])
        defer { _ = view.stop(SIGINT) }
        let port = try view.port(after: " on http://127.0.0.1:")
        try view.waitFor("records read", seconds: 120)
        let browser = try Peer(PcapFixtures.python, [Self.script, "jump", "http://127.0.0.1:\(port)/?token=tok", Self.shots])
        let output = browser.finish()
        #expect(browser.process.terminationStatus == 0, "\(output)")
        let step = try #require(Self.lines(output).first { $0["last"] != nil })
        // The open record is seq 1; the 40 000 messages follow it.
        #expect(step["last"]?.numberText == "40001" && step["end"]?.numberText == "40001", "\(step)")
        #expect(step["middle"]?.numberText == "20000", "\(step)")
        #expect((Int(step["rows"]?.numberText ?? "") ?? .max) < 200, "only the rows in view are in the page: \(step)")
    }

    @Test func aMessageHeldInTheBrowserIsEditedAndTheServerGetsTheEdit() throws {
        let (server, serverPort) = try ProxyControlTests.echoServer([])
        defer { _ = server.stop() }
        let proxy = try ProxyTests.proxy(upstream: serverPort, ["--ui", "--ui-listen", "127.0.0.1:0", "--ui-token", "tok", "--quiet"])
        let proxyPort = try proxy.proxyPort()
        let uiPort = try proxy.port(after: "web inspector on http://127.0.0.1:")
        defer { _ = proxy.stop(SIGINT) }
        let browser = try Peer(PcapFixtures.python, [Self.script, "hold", "http://127.0.0.1:\(uiPort)/?token=tok", Self.shots])
        try browser.waitFor("armed", seconds: 60)
        let client = try Peer(PcapFixtures.python, [ProxyControlTests.script, "client", "ws://127.0.0.1:\(proxyPort)/", "8"])
        let steps = browser.finish()
        #expect(browser.process.terminationStatus == 0 && steps.contains("forwarded"), "\(steps)")
        // A browser that failed leaves the client waiting on its held request.
        let output = browser.process.terminationStatus == 0 ? client.finish() : client.stop()
        #expect(client.process.terminationStatus == 0, "\(output)")
        #expect(server.printed.contains(#""id": "m3""#) && server.printed.contains("the quick brown cat jumps"), "the server got the edit")
        #expect(output.contains("the quick brown cat jumps"), "and answered it")
    }
}

import Foundation
import Testing
@testable import BasetapKit

/// The web inspector's API against a live proxy between real peers, and its guards.
@Suite struct WebInspectorTests {
    /// One HTTP/1.1 request on a fresh loopback connection: the status and the body.
    static func http(_ port: Int, _ method: String, _ path: String, token: String? = "tok", headers: [String: String] = [:], body: String? = nil) -> (Int, String) {
        let fd = connectLoopback(port)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\n"
        var all = ["Host": "127.0.0.1:\(port)", "Connection": "close"]
        if let token { all["Authorization"] = "Bearer \(token)" }
        if let body { all["Content-Length"] = String(body.utf8.count); all["Content-Type"] = "application/json" }
        all.merge(headers) { $1 }
        for (name, value) in all { head += "\(name): \(value)\r\n" }
        ProxyFaultTests.send(fd, Array((head + "\r\n" + (body ?? "")).utf8))
        let response = ProxyFaultTests.readAll(fd, seconds: 20)
        let status = Int(response.split(separator: " ").dropFirst().first ?? "") ?? 0
        let payload = response.range(of: "\r\n\r\n").map { String(response[$0.upperBound...]) } ?? ""
        return (status, payload)
    }

    /// A proxy in this process with its web inspector (token "tok"), as `proxy --ui` makes them.
    static func inspectedProxy(upstream: Int, _ directory: URL) throws -> (ProxyServer, Int, InspectorServer) {
        let store = InspectorStore(limit: InspectorStore.liveLimit)
        let (proxy, port) = try ProxyControlTests.inProcessProxy(upstream: upstream, directory, inspection: store)
        let inspector = try InspectorServer.live(proxy, store: store, listen: ProxyTarget(host: "127.0.0.1", port: 0, tls: false), token: "tok")
        return (proxy, port, inspector)
    }

    static func json(_ text: String) -> JSONValue { (try? JSONValue(parsing: text)) ?? .null }

    /// Waits until `condition` holds, asked again at each event of the inspector's store.
    static func waitUntil(_ what: String, in store: InspectorStore, _ condition: () throws -> Bool) throws {
        let events = DispatchSemaphore(value: 0)
        let listener = store.subscribe { _ in events.signal() }
        defer { store.unsubscribe(listener) }
        try BasetapKitTests.waitUntil(what, wakingOn: { _ = events.wait(timeout: $0) }, condition)
    }

    @Test(arguments: [true, false])
    func holdEditDropAndInjectThroughTheAPI(deflate: Bool) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let flags = deflate ? [] : ["--no-deflate"]
        let (server, serverPort) = try ProxyControlTests.echoServer(flags)
        defer { _ = server.stop() }
        let (proxy, proxyPort, inspector) = try Self.inspectedProxy(upstream: serverPort, directory)
        defer { inspector.stop() }
        let ui = inspector.port
        #expect(Self.http(ui, "PUT", "/api/hold", body: #"{"filter": "dir:c2s (id:m5 or id:m7"}"#).0 == 400, "a broken filter")
        #expect(Self.http(ui, "PUT", "/api/hold", body: #"{"filter": "dir:c2s (id:m5 or id:m7)"}"#).0 == 200)

        let client = try Peer(PcapFixtures.python, [ProxyControlTests.script, "client", "ws://127.0.0.1:\(proxyPort)/", "40"] + flags)
        var held: [JSONValue] = []
        try Self.waitUntil("a held message", in: inspector.store) {
            held = Self.json(Self.http(ui, "GET", "/api/held").1).arrayValue ?? []
            return !held.isEmpty
        }
        #expect(held[0]["text"]?.stringValue?.contains(#""m5""#) == true && held[0]["dir"]?.stringValue == "c2s")
        let seq = held[0]["seq"]!.numberText!

        // Both ways while m5 waits: a note to the client, and a request whose answer comes back here.
        let note = Self.http(ui, "POST", "/api/connections/c1/messages", body: #"{"dir": "s2c", "text": "{\"type\":\"note.injected\",\"id\":\"n1\",\"payload\":{}}"}"#)
        #expect(note.0 == 200 && note.1.contains(#""sent":true"#), "\(note)")
        // Sent at once, ahead of the held m5: the server answers it while m5 still waits.
        let answer = Self.http(ui, "POST", "/api/connections/c1/messages", body: #"{"dir": "c2s", "text": "{\"id\":\"api-1\",\"type\":\"chat.send\",\"payload\":{\"text\":\"asked by a script\"}}"}"#)
        #expect(answer.0 == 200 && answer.1.contains("api-1") && answer.1.contains("asked by a script"), "the answer reached the API: \(answer.0) \(answer.1)")
        let edited = #"{\"id\":\"m5\",\"type\":\"chat.send\",\"payload\":{\"text\":\"edited through the API\"}}"#
        #expect(Self.http(ui, "POST", "/api/held/\(seq)", body: #"{"action": "forward", "text": "\#(edited)"}"#).0 == 200)
        #expect(Self.http(ui, "POST", "/api/held/\(seq)", body: #"{"action": "drop"}"#).0 == 404, "settled once: no longer held")

        try Self.waitUntil("m7 held", in: inspector.store) {
            held = Self.json(Self.http(ui, "GET", "/api/held").1).arrayValue ?? []
            return held.first?["text"]?.stringValue?.contains(#""m7""#) == true
        }
        #expect(Self.http(ui, "POST", "/api/held/\(held[0]["seq"]!.numberText!)", body: #"{"action": "drop"}"#).0 == 200)
        let output = client.finish()
        #expect(client.process.terminationStatus == 0, "\(output)")
        #expect(output.contains("edited through the API") && output.contains("note.injected"))
        #expect(!output.contains(#""id": "m7""#) && !output.contains("api-1"), "the dropped request and basetap's answer never reached the client")

        var connections: [JSONValue] = []
        try Self.waitUntil("the connection's end", in: inspector.store) {
            connections = Self.json(Self.http(ui, "GET", "/api/connections").1).arrayValue ?? []
            return connections.first?["state"]?.stringValue == "closed"
        }
        let marked = Self.json(Self.http(ui, "GET", "/api/messages?filter=" + "dir:c2s id:m5".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!).1).arrayValue ?? []
        #expect(marked.compactMap { $0["control"]?.stringValue } == ["replaced", "edited"])
        // The repeater: m1 again, edited, on a new connection; its answer beside the original's.
        let m1 = try #require(Self.json(Self.http(ui, "GET", "/api/messages?filter=dir:c2s%20id:m1").1).arrayValue?.first)
        let repeated = Self.json(Self.http(ui, "POST", "/api/repeat", body: #"{"seq": \#(m1["seq"]!.numberText!), "text": "{\"id\":\"m1\",\"type\":\"chat.send\",\"payload\":{\"text\":\"once more\"}}"}"#).1)
        #expect(repeated["answers"]?.arrayValue?.first?["text"]?.stringValue?.contains("once more") == true, "\(repeated)")
        #expect(repeated["original"]?.arrayValue?.first?["text"]?.stringValue?.contains("lazy dog 1") == true)
        _ = proxy.stop()
        let records = try JSONLCaptureReader(path: directory.appendingPathComponent("session.jsonl").path).readAll()
        let counts = connections[0]["messages"]
        #expect(counts?["c2s"]?.numberText == String(records.filter { $0.kind.isMessage && $0.dir == .c2s }.count), "the API counts what the recording holds")
        #expect(counts?["s2c"]?.numberText == String(records.filter { $0.kind.isMessage && $0.dir == .s2c }.count))
    }

    @Test func theTokenTheHostAndTheOriginAreChecked() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (proxy, _, inspector) = try Self.inspectedProxy(upstream: unusedPort(), directory)
        defer { inspector.stop() }
        defer { _ = proxy.stop() }
        let ui = inspector.port
        #expect(Self.http(ui, "GET", "/api/connections").0 == 200)
        #expect(Self.http(ui, "GET", "/api/connections", token: nil).0 == 401)
        #expect(Self.http(ui, "GET", "/api/connections", token: "wrong").0 == 401)
        #expect(Self.http(ui, "GET", "/api/connections", headers: ["Host": "rebound.example:\(ui)"]).0 == 403, "DNS rebinding")
        #expect(Self.http(ui, "PUT", "/api/hold", headers: ["Origin": "http://evil.example"], body: #"{"filter": ""}"#).0 == 403)
        #expect(Self.http(ui, "PUT", "/api/hold", headers: ["Origin": "http://127.0.0.1:\(ui)"], body: #"{"filter": ""}"#).0 == 200)
        // The page's URL carries the token once and sets a cookie for the rest.
        let fd = connectLoopback(ui)
        ProxyFaultTests.send(fd, Array("GET /?token=tok HTTP/1.1\r\nHost: localhost:\(ui)\r\nConnection: close\r\n\r\n".utf8))
        let page = ProxyFaultTests.readAll(fd, seconds: 10)
        close(fd)
        #expect(page.contains("Set-Cookie: basetap_token=tok; HttpOnly; SameSite=Strict") && page.contains("Content-Security-Policy: default-src 'none'"))
        #expect(Self.http(ui, "GET", "/api/held", token: nil, headers: ["Cookie": "basetap_token=tok"]).0 == 200)
        #expect(Self.http(ui, "POST", "/api/connections/c9/messages", body: #"{"dir": "c2s", "text": "{}"}"#).0 == 409, "no such connection open")
    }
}

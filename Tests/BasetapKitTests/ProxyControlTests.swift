import Foundation
import NIOCore
import Testing
@testable import BasetapKit

/// Message-level control of a running proxy (hold, edit, drop, inject) with real peers on loopback:
/// Python `websockets` on both sides, which fail a connection whose frames or compression go wrong.
@Suite struct ProxyControlTests {
    /// Things the proxy's callbacks (on its event loops) hand to the test.
    final class Mailbox<Item>: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [Item] = []
        private let arrived = DispatchSemaphore(value: 0)

        func put(_ item: Item) {
            lock.lock()
            items.append(item)
            lock.unlock()
            arrived.signal()
        }

        func take(seconds: Double = 20) -> Item? {
            guard arrived.wait(timeout: .now() + seconds) == .success else { return nil }
            lock.lock()
            defer { lock.unlock() }
            return items.removeFirst()
        }
    }

    static let script = ProxyTests.peers.appendingPathComponent("control_peers.py").path

    static func inProcessProxy(upstream: Int, _ directory: URL, inspection: InspectorStore? = nil,
                               configure: (inout ProxyServer.Options) -> Void = { _ in }) throws -> (ProxyServer, Int) {
        var options = ProxyServer.Options(
            listen: ProxyTarget(host: "127.0.0.1", port: 0, tls: false),
            mode: .reverse(upstream: ProxyTarget(host: "127.0.0.1", port: upstream, tls: false)))
        options.record = directory.appendingPathComponent("session.jsonl").path
        configure(&options)
        let proxy = try ProxyServer(
            options: options, output: try OutputFile(path: directory.appendingPathComponent("out.txt").path),
            messages: try OutputFile(path: directory.appendingPathComponent("err.txt").path), inspection: inspection)
        let address = try proxy.start()
        return (proxy, address.port!)
    }

    /// The echo server of `control_peers.py`, listening; `flags` turn deflate off.
    static func echoServer(_ flags: [String]) throws -> (Peer, Int) {
        let server = try Peer.unblocked(PcapFixtures.python, [script, "server", "0"] + flags)
        return (server, try server.port())
    }

    @Test(arguments: [true, false])
    func holdEditDropAndInjectBothWays(deflate: Bool) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let flags = deflate ? [] : ["--no-deflate"]
        let (server, serverPort) = try Self.echoServer(flags)
        defer { _ = server.stop() }
        let (proxy, port) = try Self.inProcessProxy(upstream: serverPort, directory)
        let held = Mailbox<HeldMessage>()
        let answers = Mailbox<CaptureRecord>()
        proxy.control.hold(try MessageFilter("dir:c2s (id:m10 or id:m20) or dir:s2c id:m30"))
        proxy.control.onHeld { held.put($0) }

        let client = try Peer(PcapFixtures.python, [Self.script, "client", "ws://127.0.0.1:\(port)/", "210"] + flags)
        // m10 is held: while it is, a message goes to the client and a request to the server.
        let first = try #require(held.take())
        #expect(Envelope.id(of: first.record) == "m10")
        let conn = first.conn
        #expect(try proxy.inject(conn: conn, .s2c, Array(#"{"type":"note.injected","id":"inj1","payload":{}}"#.utf8)).wait())
        let request = #"{"id":"inj2","type":"chat.send","payload":{"text":"from basetap"}}"#
        #expect(try proxy.inject(conn: conn, .c2s, Array(request.utf8), answer: { answers.put($0) }).wait())
        let edited = #"{"id":"m10","type":"chat.send","payload":{"text":"edited by basetap"}}"#
        #expect(try proxy.release(conn: conn, hold: first.hold, .edit(.text, Array(edited.utf8))).wait())
        let second = try #require(held.take())
        #expect(Envelope.id(of: second.record) == "m20")
        #expect(try proxy.release(conn: conn, hold: second.hold, .drop).wait())
        #expect(try proxy.release(conn: conn, hold: second.hold, .forward).wait() == false, "a hold is settled once")
        // An answer on its way to the client, held and dropped.
        let third = try #require(held.take())
        #expect(Envelope.id(of: third.record) == "m30" && third.record.dir == .s2c)
        #expect(try proxy.release(conn: conn, hold: third.hold, .drop).wait())

        let output = client.finish()
        #expect(client.process.terminationStatus == 0 && output.contains("done"), "\(output)")
        let answer = try #require(answers.take())
        #expect(Envelope.id(of: answer) == "inj2" && answer.text?.contains("from basetap") == true)

        // The client got every answer but the dropped request's and the dropped answer, the edit's
        // answer, the injected message, and not the answer meant for basetap: the 180 messages
        // after the changes decoded fine on both peers.
        let received = output.split(separator: "\n").filter { $0.hasPrefix("recv ") }.map { String($0.dropFirst(5)) }
        let ids = received.compactMap { try? JSONValue(parsing: $0)["id"]?.stringValue }
        #expect(Set(ids) == Set((0..<210).map { "m\($0)" }).subtracting(["m20", "m30"]).union(["inj1", "last"]))
        #expect(received.contains { $0.contains("\"id\": \"m10\"") && $0.contains("edited by basetap") })
        let got = server.printed.split(separator: "\n").filter { $0.hasPrefix("got ") }
        #expect(got.count == 211, "209 of the client's requests, its last one, and basetap's")
        #expect(!got.contains { $0.contains("\"m20\"") })
        #expect(got.contains { $0.contains("edited by basetap") } && got.contains { $0.contains("inj2") })

        _ = proxy.stop()
        let records = try JSONLCaptureReader(path: directory.appendingPathComponent("session.jsonl").path).readAll()
        func marked(_ mark: CaptureRecord.ControlMark) -> [String] {
            records.filter { $0.control == mark }.compactMap { Envelope.id(of: $0) }
        }
        #expect(marked(.replaced) == ["m10"] && marked(.edited) == ["m10"])
        #expect(marked(.dropped).sorted() == ["inj2", "m20", "m30"], "the dropped request and answer, and the answer basetap took")
        #expect(marked(.injected).sorted() == ["inj1", "inj2"])
        // With compression, the receivers' windows changed: each direction was re-encoded from then on.
        #expect(Set(records.filter { $0.control == .reencoded }.compactMap(\.dir)) == (deflate ? [.c2s, .s2c] : []))
    }

    @Test func aFragmentFloodIsReportedAndTheConnectionRelaysOn() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (server, serverPort) = try Self.echoServer(["--no-deflate"])
        defer { _ = server.stop() }
        let (proxy, port) = try Self.inProcessProxy(upstream: serverPort, directory) { $0.maxFragments = 1000 }
        let fd = connectLoopback(port)
        ProxyFaultTests.send(fd, Array(ProxyFaultTests.upgradeHead.utf8))
        #expect(ProxyFaultTests.readUntil(fd, "\r\n\r\n").contains("101"))
        var generator = SystemRandomNumberGenerator()
        func frame(_ fin: Bool, _ opcode: UInt8, _ text: String) -> [UInt8] {
            FrameEncoder.encode(WebSocketFrame(fin: fin, opcode: opcode, maskKey: FrameEncoder.randomMask(using: &generator), payload: Array(text.utf8)))
        }
        var flood = frame(false, 0x1, #"{"id":"f1","type":"x","payload":{"text":"a"#)
        let empty = frame(false, 0x0, "")
        for _ in 0..<20_000 { flood += empty }
        flood += frame(true, 0x0, #""}}"#)
        flood += frame(true, 0x1, #"{"id":"after","type":"x","payload":{"text":"b"}}"#)
        ProxyFaultTests.send(fd, flood)
        let answers = ProxyFaultTests.readUntil(fd, "\"after\"")
        #expect(answers.contains("\"f1\"") && answers.contains("\"after\""), "the server got both messages through the proxy")
        // Others are still served while that connection is open.
        let (status, output) = try ProxyTests.client(url: "ws://127.0.0.1:\(port)/", ["--messages", "2", "--quiet", "--clean", "--no-deflate"])
        #expect(status == 0, "\(output)")
        close(fd)
        let (summary, _, _) = proxy.stop()
        #expect(summary.byRule[CheckSummary.RuleCount(id: "ws.fragment-limit", severity: .error)] == 1)
    }

    /// `--intercept` through the command line: held messages are answered on standard input, an
    /// edit goes through $EDITOR.
    @Test func interceptOnTheTerminalForwardsEditsAndDrops() throws {
        let (server, serverPort) = try Self.echoServer([])
        defer { _ = server.stop() }
        let proxy = try Peer("/usr/bin/env", [
            "EDITOR=sed -i s/fox/cat/", basetapExecutable, "proxy", "--listen", "127.0.0.1:0", "--upstream", "ws://127.0.0.1:\(serverPort)",
            "--intercept", "dir:c2s (id:m3 or id:m5)", "--quiet",
        ])
        let proxyPort = try proxy.proxyPort()
        let client = try Peer(PcapFixtures.python, [Self.script, "client", "ws://127.0.0.1:\(proxyPort)/", "8"])
        try proxy.waitFor("held c1 c2s text #1")
        #expect(proxy.printed.contains(#""id": "m3""#))
        proxy.type("e")
        try proxy.waitFor("held c1 c2s text #2")
        proxy.type("d")
        let output = client.finish()
        #expect(client.process.terminationStatus == 0, "\(output)")
        #expect(output.contains(#""id": "m3""#) && output.contains("the quick brown cat"), "the edit reached the server")
        #expect(!output.contains(#""id": "m5""#), "the dropped request was never answered")
        let log = proxy.stop(SIGINT)
        #expect(log.contains("c1 #1 edited and sent") && log.contains("c1 #2 dropped"), "\(log)")
    }
}

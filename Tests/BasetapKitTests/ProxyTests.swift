import Foundation
import Testing
@testable import BasetapKit

/// A process started for a test, stopped by PID. What it prints is collected as it comes (a peer
/// that prints much can never fill its pipe and stall), and waits for it have deadlines.
final class Peer: @unchecked Sendable {
    let process = Process()
    private let pipe = Pipe()
    /// The peer's standard input: `type` writes lines to it.
    private let input = Pipe()
    private let lock = NSLock()
    private var printedData = Data()
    private var ended = false
    /// Signalled for every chunk the peer prints, and at its end of output.
    private let arrived = DispatchSemaphore(value: 0)

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = input
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            lock.lock()
            if data.isEmpty { ended = true } else { printedData.append(data) }
            lock.unlock()
            if data.isEmpty { handle.readabilityHandler = nil }
            arrived.signal()
        }
        try process.run()
    }

    /// Starts `executable` with SIGINT and SIGTERM deliverable: the test runner's blocked signal mask
    /// would otherwise survive exec and make the peer deaf to being stopped.
    static func unblocked(_ executable: String, _ arguments: [String]) throws -> Peer {
        let exec = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])"
        return try Peer(PcapFixtures.python, ["-c", exec, executable] + arguments)
    }

    /// A line on the peer's standard input, as a user would type it.
    func type(_ line: String) {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Everything the peer printed so far.
    var printed: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: printedData, as: UTF8.self)
    }

    private var outputEnded: Bool {
        lock.lock()
        defer { lock.unlock() }
        return ended
    }

    /// Waits until the peer prints a line containing `text`, for `seconds` at most.
    func waitFor(_ text: String, seconds: Double = 10) throws {
        _ = try wait(for: "'\(text)'", seconds: seconds) { $0.contains(text) ? () : nil }
    }

    /// The port a server says it got (it was told port 0): the digits right after `marker`,
    /// as in `listening on 40123` or `proxying ws://127.0.0.1:40123/`.
    func port(after marker: String = "listening on ", seconds: Double = 10) throws -> Int {
        try wait(for: "a port after '\(marker)'", seconds: seconds) { printed in
            guard let start = printed.range(of: marker)?.upperBound else { return nil }
            let digits = printed[start...].prefix { $0.isASCII && $0.isNumber }
            // The number is whole only once something follows it.
            guard digits.endIndex < printed.endIndex else { return nil }
            return Int(digits)
        }
    }

    /// Waits until `found` finds something in what the peer printed, for `seconds` at most.
    private func wait<T>(for what: String, seconds: Double, _ found: (String) -> T?) throws -> T {
        let deadline = DispatchTime.now() + seconds
        while true {
            if let value = found(printed) { return value }
            guard !outputEnded, arrived.wait(timeout: deadline) == .success else {
                throw BasetapError.usage("peer did not print \(what) within \(seconds) s: \(printed)")
            }
        }
    }

    /// Waits for the peer to exit and its output to end; returns everything it printed.
    func finish() -> String {
        process.waitUntilExit()
        let deadline = DispatchTime.now() + 5
        while !outputEnded && arrived.wait(timeout: deadline) == .success {}
        return printed
    }

    func stop(_ sig: Int32 = SIGTERM) -> String {
        if process.isRunning { kill(process.processIdentifier, sig) }
        if !ProcessExit.wait(process.processIdentifier, seconds: 15) {
            kill(process.processIdentifier, SIGKILL)
            Issue.record("\(process.executableURL!.lastPathComponent) ignored signal \(sig)")
        }
        return finish()
    }
}

/// A TCP socket connected to a loopback port, or -1 when the connection failed.
func connectLoopback(_ port: Int) -> Int32 {
    // A test that writes after the proxy closed on purpose (a timeout, a refusal) must get EPIPE,
    // not the signal that would end the whole test run.
    signal(SIGPIPE, SIG_IGN)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    let status = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard status == 0 else {
        close(fd)
        return -1
    }
    return fd
}

/// A TCP listener on 127.0.0.1 at a port the kernel chose, for a test that plays a server by hand.
func loopbackListener(backlog: Int32 = 16) -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    listen(fd, backlog)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// A port nothing listens on, for an unreachable target or a server that basetap restarts on the
/// same port (`fuzz --exec`). It is below the kernel's ephemeral range, so no outgoing connection
/// can take it between this check and its use.
func unusedPort() -> Int {
    let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
    let low = range.flatMap { Int($0.split(whereSeparator: \.isWhitespace).first ?? "") } ?? 32768
    while true {
        let port = Int.random(in: 10000..<low)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if bound == 0 { return port }
    }
}

extension Peer {
    /// The port a basetap proxy listens on, from its banner (it was started on port 0).
    func proxyPort() throws -> Int { try port(after: "127.0.0.1:") }

    /// What a proxy started by `ProxyTests.proxy` answers on `/metrics` now: its status and text.
    func metricsAnswer() throws -> (Int, String) {
        WebInspectorTests.http(try port(after: "metrics on http://127.0.0.1:"), "GET", "/metrics", token: nil)
    }
}

/// A proxy's JSONL recording as it grows (the proxy writes it within `SinkWriter.flushDelay` of
/// each record): the records of its whole lines so far, each line read once.
final class RecordingFollower {
    let path: String
    private(set) var records: [CaptureRecord] = []
    private var offset: UInt64 = 0

    init(_ path: String) { self.path = path }

    /// Reads the lines written since the last call.
    func update() throws {
        guard let file = FileHandle(forReadingAtPath: path) else { return }
        defer { try? file.close() }
        try file.seek(toOffset: offset)
        let bytes = [UInt8](try file.readToEnd() ?? Data())
        guard let last = bytes.lastIndex(of: 0x0A) else { return }
        offset += UInt64(last + 1)
        records += try JSONLCaptureReader(bytes: Array(bytes[...last])).readAll()
    }

    /// Waits until `condition` holds of the records so far, asked again at each change of the file.
    static func wait(for what: String, in path: String, seconds: Double = 20, _ condition: ([CaptureRecord]) -> Bool) throws {
        let recording = RecordingFollower(path)
        try waitUntil(what, seconds: seconds, changesIn: URL(fileURLWithPath: path).deletingLastPathComponent().path) {
            try recording.update()
            return condition(recording.records)
        }
    }

    /// Waits until the recording holds the end of every connection it holds the start of: each
    /// connection's last record is on disk, so stopping the proxy cuts none short.
    static func waitUntilIdle(_ path: String) throws {
        try wait(for: "the end of every connection in \(path)", in: path) { records in
            let opened = Set(records.filter { $0.kind == .open }.map(\.conn))
            return !opened.isEmpty && opened.isSubset(of: records.filter { $0.kind == .end }.map(\.conn))
        }
    }
}

@Suite(.serialized) struct ProxyTests {
    static let peers = repositoryRoot.appendingPathComponent("Tests/Peers")

    /// Bytes of TCP payload sent to `port` in a pcap the proxy is writing, as far as whole packets go.
    static func bytesRecorded(in path: String, toPort port: Int) -> Int {
        guard let file = try? PcapFile(path: path) else { return 0 }
        var reader = PacketReader(), bytes = 0
        while let packet = try? file.next() {
            guard let segment = reader.segment(packet.data, linkType: file.linkType), segment.destination.port == port else { continue }
            bytes += segment.payload.count
        }
        return bytes
    }

    /// The sample server on a port of its own; `port()` says which.
    static func sampleServer(deflate: Bool = true, _ extra: [String] = []) throws -> Peer {
        let server = try Peer(PcapFixtures.python, [peers.appendingPathComponent("sample_server.py").path, "0"] + (deflate ? [] : ["--no-deflate"]) + extra)
        _ = try server.port()
        return server
    }

    /// basetap's proxy to `upstream` on a port of its own (`proxyPort()` says which), with its
    /// metrics served (`metricsAnswer()`) unless the test asks for `--metrics` itself.
    static func proxy(upstream: Int, path: String = "", _ extra: [String] = []) throws -> Peer {
        try proxy(["--upstream", "ws://127.0.0.1:\(upstream)\(path)"] + extra)
    }

    /// basetap's proxy with `arguments` (reverse or forward), listening and serving metrics as above.
    static func proxy(_ arguments: [String]) throws -> Peer {
        let metrics = arguments.contains("--metrics") ? [] : ["--metrics", "127.0.0.1:0"]
        let proxy = try Peer(basetapExecutable, ["proxy", "--listen", "127.0.0.1:0", "--color", "never"] + metrics + arguments)
        try proxy.waitFor("(Ctrl-C to stop)")
        return proxy
    }

    static func client(_ port: Int, _ arguments: [String]) throws -> (Int32, String) {
        try client(url: "ws://127.0.0.1:\(port)/ws?room=1", arguments)
    }

    static func client(url: String, _ arguments: [String]) throws -> (Int32, String) {
        let client = try Peer(PcapFixtures.python, [peers.appendingPathComponent("sample_client.py").path, url] + arguments)
        let output = client.finish()
        return (client.process.terminationStatus, output)
    }

    @Test func pythonPeersThroughTheProxyWithLiveFindingsAndALosslessRecording() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.sampleServer()
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let record = directory.appendingPathComponent("session.jsonl").path
        let pcap = directory.appendingPathComponent("session.pcap").path
        let proxy = try Self.proxy(upstream: serverPort, ["--record", record, "--pcap", pcap, "--format", "jsonl"])
        let proxyPort = try proxy.proxyPort()
        let (status, output) = try Self.client(proxyPort, ["--messages", "9", "--size", "200", "--quiet"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("9 answers"))
        try RecordingFollower.waitUntilIdle(record)
        let log = proxy.stop(SIGINT)
        #expect(proxy.process.terminationStatus == 1, "errors were found")
        let findings = log.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) }
        let rules = findings.compactMap { $0["rule"]?.stringValue }
        #expect(rules.contains("id.syntax") && rules.contains("json.duplicate-key") && rules.contains("error.ok-true"))
        #expect(log.contains("Checked 22 messages in 1 connection"))
        let records = try JSONLCaptureReader(path: record).readAll()
        // login, 9 messages and the forged error, each answered: 22 messages, plus open, close both ways, end.
        #expect(records.filter(\.kind.isMessage).count == 22)
        #expect(records.first?.kind == .open && records.first?.extensions?.contains("permessage-deflate") == true)
        #expect(records.first?.url == "/ws?room=1")
        #expect(records.filter { $0.kind == .close }.map(\.code) == [1000, 1000])
        #expect(records.filter(\.kind.isMessage).allSatisfy { $0.frames?.first?.rsv == 4 }, "deflate stayed negotiated end to end")
        // Both legs, as separate TCP streams with their real addresses: client↔basetap and basetap↔server.
        let (decoded, _) = try PcapFixtures.decode(pcap)
        let legs = Dictionary(grouping: decoded.records, by: \.conn)
        #expect(legs.count == 2)
        for leg in legs.values {
            #expect(PcapFixtures.timeless(leg.filter(\.kind.isMessage)).map(\.payload) == records.filter(\.kind.isMessage).map(\.payload))
        }
        let servers = Set(decoded.records.filter { $0.kind == .open }.compactMap(\.server))
        #expect(servers == ["127.0.0.1:\(proxyPort)", "127.0.0.1:\(serverPort)"])
        #expect(records.first?.server == "127.0.0.1:\(serverPort)", "the open record names the real upstream")
    }

    /// `--upstream ws://host:port/ws` reaches a server that answers on /ws only: the path is kept.
    @Test func anUpstreamPathIsJoinedInFrontOfTheClientsPath() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try ReplayTests.server("same", ["--path", "/ws"])
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let capture = try ReplayTests.capture(in: directory, url: "/")
        let direct = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(serverPort)", "--pace", "fast"])
        #expect(direct.status == 1 && direct.stdout.contains("404"), "the server answers nothing but /ws: \(direct.stdout)")
        let proxy = try Self.proxy(upstream: serverPort, path: "/ws")
        try proxy.waitFor("to ws://127.0.0.1:\(serverPort)/ws")
        let proxyPort = try proxy.proxyPort()
        let through = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(proxyPort)", "--pace", "fast"])
        _ = proxy.stop(SIGINT)
        #expect(through.status == 0 && through.stdout.contains("same answers"), "\(through.stdout)")

        let prefix = try ProxyTarget(url: "ws://h:1/ws?v=2")
        #expect(prefix.joined(with: "/") == "/ws?v=2")
        #expect(prefix.joined(with: "/chat?a=1") == "/ws/chat?v=2&a=1")
        #expect(try ProxyTarget(url: "ws://h:1/ws/").joined(with: "/chat") == "/ws/chat")
        #expect(try ProxyTarget(url: "ws://h:1/").joined(with: "/chat") == "/chat")
        #expect(try ProxyTarget(url: "ws://h:1?k=1").joined(with: "/chat") == "/chat?k=1")
    }

    @Test func theRelayIsByteExactEvenForFramesRFC6455Forbids() throws {
        let (listener, upstreamPort) = loopbackListener(backlog: 1)
        nonisolated(unsafe) var received: [UInt8] = []
        let serverDone = DispatchSemaphore(value: 0)
        Thread {
            let fd = accept(listener, nil, nil)
            var buffer = [UInt8](repeating: 0, count: 65536)
            var sentAnswer = false
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                received += buffer[0..<n]
                if !sentAnswer, received.firstRange(of: Array("\r\n\r\n".utf8)) != nil {
                    let answer = Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".utf8)
                    _ = write(fd, answer, answer.count)
                    sentAnswer = true
                }
            }
            close(fd)
            close(listener)
            serverDone.signal()
        }.start()
        let proxy = try Self.proxy(upstream: upstreamPort, ["--format", "jsonl"])
        let proxyPort = try proxy.proxyPort()
        let head = Array("GET /raw?x=1 HTTP/1.1\r\nHost: 127.0.0.1:\(proxyPort)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Trace: keep me\r\n\r\n".utf8)
        var frames: [UInt8] = []
        let m: (UInt8, UInt8, UInt8, UInt8) = (1, 2, 3, 4)
        frames += FrameEncoder.encode(WebSocketFrame(opcode: .text, maskKey: m, payload: Array(#"{"id":"1","type":"a","from":"","to":"","payload":{}}"#.utf8)))
        frames += FrameEncoder.encode(WebSocketFrame(rsv: 2, opcode: .text, maskKey: m, payload: Array("{}".utf8)))
        frames += FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: Array("unmasked".utf8)))
        frames += FrameEncoder.encode(WebSocketFrame(fin: false, opcode: .ping, maskKey: m, payload: [1, 2]))
        frames += FrameEncoder.encode(WebSocketFrame(opcode: .binary, maskKey: m, payload: [UInt8](repeating: 7, count: 70000)))
        let fd = connectLoopback(proxyPort)
        #expect(fd >= 0)
        _ = write(fd, head, head.count)
        var answer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &answer, answer.count)
        #expect(String(decoding: answer[0..<max(0, n)], as: UTF8.self).hasPrefix("HTTP/1.1 101"))
        // Frames in awkward pieces, as a real network might deliver them.
        var offset = 0
        for size in [3, 1, 50, 7, 100_000] where offset < frames.count {
            let end = min(frames.count, offset + size)
            _ = frames[offset..<end].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            offset = end
        }
        shutdown(fd, Int32(SHUT_WR))
        #expect(serverDone.wait(timeout: .now() + 10) == .success)
        close(fd)
        let log = proxy.stop(SIGINT)
        let expectedHead = String(decoding: head, as: UTF8.self).replacingOccurrences(of: "Host: 127.0.0.1:\(proxyPort)", with: "Host: 127.0.0.1:\(upstreamPort)")
        #expect(received == Array(expectedHead.utf8) + frames, "only the Host header may change")
        for rule in ["ws.rsv-bits", "ws.unmasked-client-frame", "ws.control-fragmented"] {
            #expect(log.contains(#""rule":"\#(rule)""#), "\(rule) in \(log)")
        }
    }

    @Test func anOversizedMessageIsRelayedWholeAndReportedNotInspected() throws {
        let server = try Self.sampleServer(deflate: false)
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let proxy = try Self.proxy(upstream: serverPort, ["--max-message-size", "2000", "--format", "jsonl"])
        let proxyPort = try proxy.proxyPort()
        let (status, output) = try Self.client(proxyPort, ["--messages", "2", "--size", "50000", "--no-deflate", "--quiet", "--clean"])
        #expect(status == 0 && output.contains("2 answers"), "the 50 kB messages and their answers got through: \(output)")
        let log = proxy.stop(SIGINT)
        #expect(log.contains(#""rule":"ws.message-limit""#), "\(log)")
        #expect(log.contains("exceeds the limit of 2000"))
    }

    @Test func anUnreachableUpstreamGivesTheClientA502() throws {
        let deadPort = unusedPort()
        let proxy = try Self.proxy(upstream: deadPort)
        let proxyPort = try proxy.proxyPort()
        let (status, output) = try Self.client(proxyPort, ["--quiet"])
        #expect(status != 0)
        #expect(output.contains("502"), "\(output)")
        let log = proxy.stop(SIGINT)
        #expect(log.contains("upstream 127.0.0.1:\(deadPort) unreachable"))
        #expect(proxy.process.terminationStatus == 0)
    }

    @Test func manyConcurrentConnectionsAreAllRelayedAndRecorded() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.sampleServer(deflate: false)
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let record = directory.appendingPathComponent("many.jsonl").path
        let proxy = try Self.proxy(upstream: serverPort, ["--record", record, "--log-messages"])
        let proxyPort = try proxy.proxyPort()
        let script = """
            import asyncio, json, sys
            from websockets.asyncio.client import connect
            async def one(n):
                async with connect("ws://127.0.0.1:\(proxyPort)/c%d" % n, compression=None) as ws:
                    for k in range(5):
                        await ws.send(json.dumps({"id": "%d-%d" % (n, k), "type": "chat.send", "from": "", "to": "", "payload": {}}))
                        await ws.recv()
            async def main():
                await asyncio.gather(*(one(n) for n in range(200)))
                print("done")
            asyncio.run(main())
            """
        let clients = try Peer(PcapFixtures.python, ["-c", script])
        let clientOutput = clients.finish()
        #expect(clients.process.terminationStatus == 0, "\(clientOutput)")
        let log = proxy.stop(SIGINT)
        #expect(log.contains("stopped after 200 connections (200 WebSocket)"), "\(log)")
        // Connections on every event loop log at once; one writer keeps every line whole.
        let lines = log.split(separator: "\n", omittingEmptySubsequences: false)
        let messageLines = lines.filter { $0.wholeMatch(of: /c\d+ (c2s|s2c) text \{"id": "\d+-\d", .*/) != nil }
        #expect(messageLines.count == 2000, "every message logged once, whole")
        let garbled = lines.filter { line in
            !(line.isEmpty || line.hasPrefix("basetap: ") || line.hasPrefix("    ") || line.hasPrefix("Checked ") || line.hasPrefix("  ")
                || line.wholeMatch(of: /c\d+ (open GET \/c\d+|(c2s|s2c) (text \{.*|close \d+))/) != nil)
        }
        #expect(garbled.isEmpty, "\(garbled.prefix(5))")
        let records = try JSONLCaptureReader(path: record).readAll()
        #expect(records.filter(\.kind.isMessage).count == 2000)
        #expect(Set(records.map(\.conn)).count == 200)
    }

    @Test func aClientThatVanishesMidFrameIsRecordedWithItsErrorAndOthersGoOn() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.sampleServer()
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let record = directory.appendingPathComponent("reset.jsonl").path, pcap = directory.appendingPathComponent("reset.pcap").path
        let proxy = try Self.proxy(upstream: serverPort, ["--record", record, "--pcap", pcap])
        let proxyPort = try proxy.proxyPort()
        let fd = connectLoopback(proxyPort)
        #expect(fd >= 0)
        let head = Array("GET /vanish HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8)
        _ = write(fd, head, head.count)
        var answer = [UInt8](repeating: 0, count: 4096)
        #expect(read(fd, &answer, answer.count) > 0)
        let partial = Array(FrameEncoder.encode(WebSocketFrame(opcode: .text, maskKey: (1, 2, 3, 4), payload: [UInt8](repeating: 0x61, count: 100))).prefix(20))
        _ = write(fd, partial, partial.count)
        // A reset throws away what the proxy has not read yet: reset once it has read the 20 bytes.
        // The proxy records what it reads from the client as it reads it.
        try waitUntil("the 20 bytes read", changesIn: directory.path) { Self.bytesRecorded(in: pcap, toPort: proxyPort) >= head.count + 20 }
        ProxyFaultTests.resetOnClose(fd)
        close(fd)  // a reset, in the middle of the frame
        let (status, output) = try Self.client(proxyPort, ["--messages", "3", "--clean", "--quiet"])
        #expect(status == 0, "\(output)")
        try RecordingFollower.waitUntilIdle(record)
        let log = proxy.stop(SIGINT)
        let records = try JSONLCaptureReader(path: record).readAll()
        let vanished = records.first { $0.kind == .open && $0.url == "/vanish" }?.conn
        let end = records.first { $0.kind == .end && $0.conn == vanished }
        #expect(end?.error?.contains("middle of a client frame (20 bytes of it received)") == true, "\(end?.error ?? "no end") / \(log)")
        #expect(records.filter { $0.conn != vanished && $0.kind.isMessage }.count == 8, "the other session went on")
    }

    /// libwebsockets' test server, listening; it cannot listen on port 0 and say which port it got.
    /// With its info log on, it says when it is ready: it listens before its context is operational.
    static func libwebsocketsServer() throws -> (server: Peer, port: Int) {
        let port = unusedPort()
        let server = try Peer.unblocked("libwebsockets-test-server", ["--port=\(port)", "-d", "1039"])
        try server.waitFor("CONTEXT_CREATED -> OPERATIONAL")
        return (server, port)
    }

    @Test func libwebsocketsPeersThroughTheProxy() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (server, serverPort) = try Self.libwebsocketsServer()
        defer { _ = server.stop() }
        let record = directory.appendingPathComponent("lws.jsonl").path
        let proxy = try Self.proxy(upstream: serverPort, ["--record", record, "--quiet"])
        let proxyPort = try proxy.proxyPort()
        let client = try Peer.unblocked("libwebsockets-test-client", ["127.0.0.1", "--port=\(proxyPort)"])
        try RecordingFollower.wait(for: "six dumb-increment numbers in the recording", in: record) {
            $0.filter { $0.dir == .s2c && Int($0.text ?? "") != nil }.count >= 6
        }
        _ = client.stop()
        try RecordingFollower.waitUntilIdle(record)
        let log = proxy.stop(SIGINT)
        let records = try JSONLCaptureReader(path: record).readAll()
        let opens = records.filter { $0.kind == .open }
        #expect(opens.count >= 2, "dumb-increment and mirror connections: \(log)")
        #expect(Set(opens.compactMap(\.subprotocol)).isSuperset(of: ["dumb-increment-protocol"]))
        // dumb-increment sends "0", "1", "2", ... in order: the recording must have them all, none lost.
        let counts = records.filter { $0.kind == .text && $0.dir == .s2c }.compactMap { Int($0.text ?? "") }
        #expect(counts.count > 5)
        #expect(counts == Array(counts.first!..<(counts.first! + counts.count)))
        #expect(log.contains("stopped after \(opens.count) connections (\(opens.count) WebSocket)"), "the summary counts what was recorded: \(log)")
    }

    /// A connection pool's way: a file fetched, then the same connection upgraded. The proxy says
    /// the first request was not an upgrade and still inspects the session that follows.
    @Test func anUpgradeAfterAKeepAliveRequestIsInspected() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (server, serverPort) = try Self.libwebsocketsServer()
        defer { _ = server.stop() }
        let record = directory.appendingPathComponent("pooled.jsonl").path
        let proxy = try Self.proxy(upstream: serverPort, ["--record", record])
        let fd = connectLoopback(try proxy.proxyPort())
        ProxyFaultTests.send(fd, Array("GET /test.css HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n".utf8))
        let head = ProxyFaultTests.readHead(fd)
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }.flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
        #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
        #expect(ProxyFaultTests.readBytes(fd, count: try #require(length), seconds: 10).count == length)
        ProxyFaultTests.send(fd, Array(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(HandshakeAcceptTests.key)\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: dumb-increment-protocol\r\n\r\n").utf8))
        #expect(ProxyFaultTests.readUntil(fd, "dumb-increment-protocol\r\n\r\n").contains("101 Switching Protocols"))
        try RecordingFollower.wait(for: "three messages relayed", in: record) { $0.filter { $0.dir == .s2c && $0.kind.isMessage }.count >= 3 }
        close(fd)
        try RecordingFollower.waitUntilIdle(record)
        let log = proxy.stop(SIGINT)
        #expect(log.contains("c1: GET /test.css is not a WebSocket upgrade; relayed as it is, and followed in case an upgrade comes next"), "\(log)")
        let records = try JSONLCaptureReader(path: record).readAll()
        #expect(records.first { $0.kind == .open }?.subprotocol == "dumb-increment-protocol")
        #expect(Array(records.filter { $0.dir == .s2c && $0.kind == .text }.compactMap(\.text).prefix(3)) == ["0", "1", "2"])
    }

    @Test func blockClosesWith1008NamingTheRuleAndIdleConnectionsAreClosed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.sampleServer()
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let record = directory.appendingPathComponent("block.jsonl").path
        let proxy = try Self.proxy(upstream: serverPort, ["--block", "--idle-timeout", "1", "--record", record])
        let proxyPort = try proxy.proxyPort()
        // The third message has an upper-case user name: id.syntax, an error.
        let (status, output) = try Self.client(proxyPort, ["--messages", "6"])
        #expect(status != 0)
        #expect(output.contains("1008") && output.contains("basetap: id.syntax"), "\(output)")
        // A connection that upgrades and then says nothing is closed after the idle timeout.
        let fd = connectLoopback(proxyPort)
        #expect(fd >= 0)
        let head = Array("GET /idle HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8)
        _ = write(fd, head, head.count)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let started = Date()
        while read(fd, &buffer, buffer.count) > 0 {}
        #expect(Date().timeIntervalSince(started) < 5)
        close(fd)
        let log = proxy.stop(SIGINT)
        #expect(log.contains("blocked with 1008 (id.syntax at /from)"), "\(log)")
        let records = try JSONLCaptureReader(path: record).readAll()
        let idle = records.first { $0.kind == .open && $0.url == "/idle" }?.conn
        #expect(records.first { $0.kind == .end && $0.conn == idle }?.error?.contains("without traffic") == true)
        #expect(records.contains { $0.kind == .close && $0.dir == .s2c && $0.code == 1008 }, "the server answered basetap's Close 1008")
        // The message that broke the rule never reached the server: it was checked before it went on.
        #expect(records.first { $0.dir == .c2s && $0.text?.contains("@Alice") == true }?.control == .dropped)
        #expect(!records.contains { $0.dir == .s2c && $0.text?.contains("\"m2\"") == true }, "no answer to it")
    }

    @Test func theMessageLogHidesCredentialsUnlessAskedAndTheRecordingKeepsThem() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.sampleServer()
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let secrets = ["Bearer s3cr3t-bearer", "sid=cookie-value-42", "query-token-77", #""secret""#]
        for logSecrets in [false, true] {
            let record = directory.appendingPathComponent("session-\(logSecrets).jsonl").path
            let proxy = try Self.proxy(upstream: serverPort, ["--log-messages", "--record", record] + (logSecrets ? ["--log-secrets"] : []))
            let proxyPort = try proxy.proxyPort()
            let (status, output) = try Self.client(url: "ws://127.0.0.1:\(proxyPort)/ws?room=1&access_token=query-token-77",
                                                   ["--messages", "1", "--clean", "--header", "Authorization: Bearer s3cr3t-bearer", "--header", "Cookie: sid=cookie-value-42"])
            #expect(status == 0, "\(output)")
            let log = proxy.stop(SIGINT)
            #expect(log.contains("GET /ws?room=1&access_token="), "\(log)")
            for secret in secrets { #expect(log.contains(secret) == logSecrets, "\(secret) in the log: \(log)") }
            #expect(log.contains(SecretRedaction.mask) != logSecrets)
            let recorded = try String(contentsOfFile: record, encoding: .utf8)
            for secret in secrets.dropLast() { #expect(recorded.contains(secret), "\(secret) is recorded") }
            #expect(recorded.contains(#"\"password\": \"secret\""#))
        }
    }

    @Test func metricsArePrometheusText() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.sampleServer()
        let serverPort = try server.port()
        defer { _ = server.stop() }
        // Port 0: the banner names the port it got. The recording says when the session is over.
        let record = directory.appendingPathComponent("metrics.jsonl").path
        let proxy = try Self.proxy(upstream: serverPort, ["--metrics", "127.0.0.1:0", "--quiet", "--record", record])
        let proxyPort = try proxy.proxyPort()
        let (status, _) = try Self.client(proxyPort, ["--messages", "3", "--quiet"])
        #expect(status == 0)
        try RecordingFollower.waitUntilIdle(record)
        let (httpStatus, text) = try proxy.metricsAnswer()
        _ = proxy.stop(SIGINT)
        #expect(httpStatus == 200)
        #expect(text.contains("basetap_connections_total 1"))
        // login, 3 messages and the forged error: 5 each way.
        #expect(text.contains("basetap_messages_total{dir=\"c2s\"} 5"), "\(text)")
        #expect(text.contains("basetap_messages_total{dir=\"s2c\"} 5"))
        #expect(text.contains("basetap_violations_total{rule=\"error.ok-true\",severity=\"error\"} 2"))
        #expect(text.contains("# TYPE basetap_writer_backlog_bytes gauge"))
    }
}

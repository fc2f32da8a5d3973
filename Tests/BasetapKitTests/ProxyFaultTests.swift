import Foundation
import Testing
@testable import BasetapKit

/// The proxy under faults on loopback: slow and silent peers, connection storms, recordings that
/// cannot be written, and stopping in the middle of heavy traffic.
@Suite(.serialized) struct ProxyFaultTests {
    /// Reads until the peer closes or `seconds` pass; returns what arrived.
    static func readAll(_ fd: Int32, seconds: Double) -> String {
        readToEnd(fd, seconds: seconds).text
    }

    /// Reads until `text` has arrived, the peer closes, or `seconds` pass.
    static func readUntil(_ fd: Int32, _ text: String, seconds: Double = 20) -> String {
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let deadline = Date().addingTimeInterval(seconds)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline && received.firstRange(of: Array(text.utf8)) == nil {
            let n = read(fd, &buffer, buffer.count)
            if n == 0 { break }
            if n > 0 { received += buffer[0..<n] }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Reads until the peer closes or `seconds` pass; `endOfInput` tells the first (a read of 0) from the second.
    static func readToEnd(_ fd: Int32, seconds: Double) -> (text: String, endOfInput: Bool) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var n = 1
        while n > 0 {
            n = read(fd, &buffer, buffer.count)
            if n > 0 { received += buffer[0..<n] }
        }
        return (String(decoding: received, as: UTF8.self), n == 0)
    }

    /// A plain HTTP request is relayed as it is, but not without a word: a server can die of one.
    @Test func aRequestThatIsNotAnUpgradeIsRelayedLoggedAndCounted() throws {
        let (listener, upstreamPort) = Self.scriptedUpstream { fd in
            _ = Self.readHead(fd)
            Self.send(fd, Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8))
        }
        defer { close(listener) }
        let proxy = try ProxyTests.proxy(upstream: upstreamPort)
        let proxyPort = try proxy.proxyPort()
        let fd = connectLoopback(proxyPort)
        Self.send(fd, Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let answer = Self.readAll(fd, seconds: 5)
        close(fd)
        #expect(answer.hasPrefix("HTTP/1.1 200 OK") && answer.hasSuffix("ok"))
        try proxy.waitFor("c1: GET /health is not a WebSocket upgrade; relayed as it is, and followed in case an upgrade comes next")
        let log = proxy.stop(SIGINT)
        #expect(log.contains("stopped after 1 connection (0 WebSocket, 1 not WebSocket)"), "\(log)")
    }

    /// A TLS client on a plain listener is told apart at its first bytes, relayed as it is and said
    /// so, instead of waiting for a request head that never comes until the header timeout.
    @Test func tlsOnAPlainListenerIsRelayedAndSaidAtOnce() throws {
        let received = DispatchSemaphore(value: 0)
        let (listener, upstreamPort) = Self.scriptedUpstream { fd in
            if Self.readBytes(fd, count: 5, seconds: 10).first == 0x16 { received.signal() }
        }
        defer { close(listener) }
        let proxy = try ProxyTests.proxy(upstream: upstreamPort, ["--header-timeout", "30"])
        let fd = connectLoopback(try proxy.proxyPort())
        defer { close(fd) }
        Self.send(fd, [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01, 0x00, 0x00, 0xC4, 0x03, 0x03])  // a ClientHello's start
        #expect(received.wait(timeout: .now() + 10) == .success, "the upstream got the client's bytes")
        try proxy.waitFor("c1: TLS, but this listener speaks plain ws; relayed as it is, not inspected")
        _ = proxy.stop(SIGINT)
    }

    /// Forward mode needs a request to know where to go: anything else is a 400 that says why.
    @Test func aForwardProxyAnswersBytesThatAreNotHTTPWith400() throws {
        let proxy = try ProxyTests.proxy(["--forward", "--ca-dir", try temporaryDirectory().path])
        let fd = connectLoopback(try proxy.proxyPort())
        defer { close(fd) }
        Self.send(fd, [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01])
        let answer = Self.readAll(fd, seconds: 5)
        #expect(answer.hasPrefix("HTTP/1.1 400") && answer.contains("not an HTTP request"), "\(answer)")
        _ = proxy.stop(SIGINT)
    }

    /// The moments right after the banner: a client that comes at once (its note and the rest of the
    /// banner once raced for standard error, and crashed the proxy) and a stop that comes at once (a
    /// signal there was once lost, and the proxy ran on).
    @Test func aClientAndAStopRightAfterTheBannerAreBothServed() throws {
        for _ in 0..<5 {
            let proxy = try ProxyTests.proxy(["--forward", "--ca-dir", try temporaryDirectory().path])
            let fd = connectLoopback(try proxy.proxyPort())
            Self.send(fd, [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01])
            let answer = Self.readAll(fd, seconds: 10)
            close(fd)
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            let log = proxy.stop(SIGINT)
            #expect(proxy.process.terminationStatus == 0 && log.contains("stopped after 1 connection"), "\(log)")

            let idle = try ProxyTests.proxy(["--forward", "--ca-dir", try temporaryDirectory().path])
            let idleLog = idle.stop(SIGINT)
            #expect(idle.process.terminationStatus == 0 && idleLog.contains("stopped after 0 connections"), "\(idleLog)")
        }
    }

    @Test func aSlowlorisClientGets408() throws {
        let proxy = try ProxyTests.proxy(upstream: unusedPort(), ["--header-timeout", "1"])
        let proxyPort = try proxy.proxyPort()
        let fd = connectLoopback(proxyPort)
        // A byte every quarter of a second, the proxy's answer awaited in between: bytes keep coming,
        // and the head is still never whole.
        var timeout = timeval(tv_sec: 0, tv_usec: 250_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var first = [UInt8](repeating: 0, count: 4096), got = 0
        for byte in "GET /ws HTTP/1.1\r\nHost: x\r\n".utf8 where got <= 0 {
            var b = byte
            _ = write(fd, &b, 1)
            got = read(fd, &first, first.count)
        }
        let answer = String(decoding: first.prefix(max(0, got)), as: UTF8.self) + Self.readAll(fd, seconds: 3)
        close(fd)
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        let log = proxy.stop(SIGINT)
        #expect(log.contains("no complete request head within 1 s"))
    }

    /// An upstream on a free loopback port that takes one connection and plays `script` on it, on
    /// its own thread, then closes it. The caller closes the listener.
    static func scriptedUpstream(_ script: @escaping @Sendable (Int32) -> Void) -> (listener: Int32, port: Int) {
        let (listener, port) = loopbackListener()
        Thread {
            let fd = accept(listener, nil, nil)
            script(fd)
            close(fd)
        }.start()
        return (listener, port)
    }

    /// Makes the next close of `fd` a reset (linger 0) rather than a FIN.
    static func resetOnClose(_ fd: Int32) {
        var linger = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
    }

    /// Reads one HTTP head (up to its blank line).
    static func readHead(_ fd: Int32) -> String {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while head.suffix(4) != [0x0D, 0x0A, 0x0D, 0x0A] && read(fd, &byte, 1) == 1 { head.append(byte) }
        return String(decoding: head, as: UTF8.self)
    }

    /// Reads `count` bytes, or what arrived before the peer closed or `seconds` passed.
    static func readBytes(_ fd: Int32, count: Int, seconds: Double) -> [UInt8] {
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let deadline = Date().addingTimeInterval(seconds)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: count)
        while received.count < count && Date() < deadline {
            let n = read(fd, &buffer, count - received.count)
            if n == 0 { break }
            if n > 0 { received += buffer[0..<n] }
        }
        return received
    }

    static let upgradeHead = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    /// Reads a client's upgrade request and accepts it, as a server would.
    static func answerUpgrade(_ fd: Int32) {
        let head = readHead(fd)
        let key = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }.map { $0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces) } ?? ""
        send(fd, Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(HandshakeAccept.value(for: key))\r\n\r\n".utf8))
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    @Test func anUpstreamThatNeverAnswersTheUpgradeIsClosedByTheIdleTimeout() throws {
        let (listener, silentPort) = loopbackListener()
        defer { close(listener) }
        let proxy = try ProxyTests.proxy(upstream: silentPort, ["--idle-timeout", "1"])
        let proxyPort = try proxy.proxyPort()
        let fd = connectLoopback(proxyPort)
        Self.send(fd, Array(Self.upgradeHead.utf8))
        let started = Date()
        let answer = Self.readAll(fd, seconds: 5)
        close(fd)
        #expect(answer.isEmpty && Date().timeIntervalSince(started) < 4.5, "closed by the proxy, not by the read timeout")
        let log = proxy.stop(SIGINT)
        #expect(log.contains("without traffic (--idle-timeout)"), "\(log)")
    }

    @Test func aRequestHeadPastTheLimitGets431() throws {
        let proxy = try ProxyTests.proxy(upstream: unusedPort(), ["--max-header-size", "1024"])
        let proxyPort = try proxy.proxyPort()
        let fd = connectLoopback(proxyPort)
        Self.send(fd, Array(("GET /ws HTTP/1.1\r\nHost: x\r\nX-Padding: " + String(repeating: "p", count: 2000)).utf8))
        let answer = Self.readAll(fd, seconds: 3)
        close(fd)
        #expect(answer.hasPrefix("HTTP/1.1 431"), "\(answer)")
        let log = proxy.stop(SIGINT)
        #expect(log.contains("longer than 1024 bytes (--max-header-size)"), "\(log)")
    }

    @Test func aWrongSecWebSocketAcceptIsRelayedAsSentAndReported() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let wrong = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"
        let greeting = #"{"id":"g1","type":"hello","from":"server.example.org","to":"","payload":{}}"#
        let (listener, upstreamPort) = Self.scriptedUpstream { fd in
            _ = Self.readHead(fd)
            Self.send(fd, Array(wrong.utf8) + PcapEdgeCaseTests.text(greeting, client: false))
            _ = Self.readAll(fd, seconds: 2)
        }
        defer { close(listener) }
        let record = directory.appendingPathComponent("bad-accept.jsonl").path
        let proxy = try ProxyTests.proxy(upstream: upstreamPort, ["--record", record, "--format", "jsonl"])
        let proxyPort = try proxy.proxyPort()
        let fd = connectLoopback(proxyPort)
        Self.send(fd, Array(Self.upgradeHead.utf8))
        let answer = Self.readAll(fd, seconds: 1)
        close(fd)
        // Relayed byte for byte: judging the answer is the client's job (RFC 6455 §4.1), reporting it is basetap's.
        #expect(answer.hasPrefix(wrong) && answer.contains(greeting), "\(answer)")
        let log = proxy.stop(SIGINT)
        let violation = try #require(log.split(separator: "\n").first { $0.contains("ws.handshake-accept") }, "\(log)")
        #expect(violation.contains("AAAAAAAAAAAAAAAAAAAAAAAAAAA=") && violation.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        let records = try JSONLCaptureReader(path: record).readAll()
        #expect(records.first?.kind == .open && records.contains { $0.kind == .text && $0.dir == .s2c })
    }

    @Test func aServerThatResetsMidFrameIsRecordedWithItsError() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let relayed = DispatchSemaphore(value: 0)
        let (listener, upstreamPort) = Self.scriptedUpstream { fd in
            Self.answerUpgrade(fd)
            Self.send(fd, Array(PcapEdgeCaseTests.text(String(repeating: "a", count: 100), client: false).prefix(20)))
            // A reset throws away what the proxy has not read yet: reset once the 20 bytes crossed it.
            _ = relayed.wait(timeout: .now() + 20)
            Self.resetOnClose(fd)  // in the middle of the frame
        }
        defer { close(listener) }
        let record = directory.appendingPathComponent("server-reset.jsonl").path
        let proxy = try ProxyTests.proxy(upstream: upstreamPort, ["--record", record])
        let proxyPort = try proxy.proxyPort()
        let fd = connectLoopback(proxyPort)
        Self.send(fd, Array(Self.upgradeHead.utf8))
        let head = Self.readHead(fd)
        let partial = Self.readBytes(fd, count: 20, seconds: 10)
        relayed.signal()
        let rest = Self.readAll(fd, seconds: 3)
        close(fd)
        #expect(head.hasPrefix("HTTP/1.1 101") && partial.count == 20 && rest.isEmpty, "the client got the upgrade, 20 bytes, and then lost the connection: \(head)")
        let log = proxy.stop(SIGINT)
        let end = try JSONLCaptureReader(path: record).readAll().last
        #expect(end?.kind == .end && end?.error?.contains("middle of a server frame (20 bytes of it received)") == true, "\(end?.error ?? "no end") / \(log)")
    }

    @Test func aHalfCloseIsRelayedAndTheOtherDirectionGoesOn() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let request = #"{"id":"r1","type":"room.join","from":"@a@x.org","to":"x.org","payload":{}}"#
        let late = #"{"id":"r1","type":"room.join","from":"x.org","to":"@a@x.org","ok":true,"payload":{}}"#
        let (listener, upstreamPort) = Self.scriptedUpstream { fd in
            Self.answerUpgrade(fd)
            // The client's request, then its half-close: the answer goes out only once the end of input
            // arrived, not after the read timeout.
            if Self.readToEnd(fd, seconds: 3).endOfInput { Self.send(fd, PcapEdgeCaseTests.text(late, client: false)) }
        }
        defer { close(listener) }
        let record = directory.appendingPathComponent("half-close.jsonl").path
        let proxy = try ProxyTests.proxy(upstream: upstreamPort, ["--record", record])
        let proxyPort = try proxy.proxyPort()
        let fd = connectLoopback(proxyPort)
        Self.send(fd, Array(Self.upgradeHead.utf8))
        #expect(Self.readHead(fd).hasPrefix("HTTP/1.1 101"))
        Self.send(fd, PcapEdgeCaseTests.text(request, client: true))
        shutdown(fd, Int32(SHUT_WR))
        let answer = Self.readAll(fd, seconds: 5)
        close(fd)
        #expect(answer.contains(late), "the answer sent after the half-close arrived: \(answer)")
        _ = proxy.stop(SIGINT)
        let records = try JSONLCaptureReader(path: record).readAll()
        #expect(records.filter { $0.kind == .text }.map(\.dir) == [.c2s, .s2c])
        #expect(records.last?.kind == .end)
    }

    @Test func aThousandConnectionsOpenedAndDroppedLeaveTheProxyWorking() throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = max(limit.rlim_cur, min(limit.rlim_max, 4096))
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let server = try ProxyTests.sampleServer(deflate: false)
        let serverPort = try server.port()
        defer { _ = server.stop(SIGKILL) }  // its own shutdown waits out the close timeout of hundreds of connections
        let proxy = try ProxyTests.proxy(upstream: serverPort, ["--quiet"])
        let proxyPort = try proxy.proxyPort()
        var sockets: [Int32] = []
        for i in 0..<1000 {
            let fd = connectLoopback(proxyPort)
            guard fd >= 0 else { continue }
            let partial = i % 2 == 0 ? "GET /ws HTTP/1.1\r\nHost: x\r\n" : "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            _ = write(fd, partial, partial.utf8.count)
            sockets.append(fd)
        }
        #expect(sockets.count == 1000)
        for fd in sockets {
            Self.resetOnClose(fd)  // the rudest way to leave
            close(fd)
        }
        let (status, output) = try ProxyTests.client(proxyPort, ["--quiet", "--clean", "--no-deflate"])
        #expect(status == 0 && output.contains("6 answers"), "\(output)")
        let log = proxy.stop(SIGINT)
        #expect(proxy.process.terminationStatus == 0, "\(log)")
        #expect(log.contains("stopped after 1001 connections"), "\(log)")
    }

    @Test func anUnwritableRecordingIsAClearErrorAndStopsOrNot() throws {
        let server = try ProxyTests.sampleServer(deflate: false)
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let missing = try runBasetap(["proxy", "--upstream", "ws://127.0.0.1:\(serverPort)", "--listen", "127.0.0.1:0", "--record", "/nonexistent/dir/s.jsonl"])
        #expect(missing.status == 2 && missing.stderr.split(separator: "\n").count == 1 && missing.stderr.contains("/nonexistent/dir/s.jsonl"), "\(missing.stderr)")

        // /dev/full: every write fails with ENOSPC, as on a full disk.
        let stopping = try ProxyTests.proxy(upstream: serverPort, ["--record", "/dev/full", "--quiet"])
        let proxyPort = try stopping.proxyPort()
        _ = try ProxyTests.client(proxyPort, ["--quiet", "--clean", "--no-deflate", "--messages", "40", "--size", "4000"])
        #expect(ProcessExit.wait(stopping.process.processIdentifier, seconds: 10), "the proxy stopped by itself")
        let stopLog = stopping.stop(SIGINT)
        #expect(stopping.process.terminationStatus == 2 && stopLog.contains("recording failed") && stopLog.contains("No space left on device"), "\(stopLog)")

        let continuing = try ProxyTests.proxy(upstream: serverPort, ["--record", "/dev/full", "--quiet", "--on-record-error", "continue"])
        let continuingPort = try continuing.proxyPort()
        let (status, output) = try ProxyTests.client(continuingPort, ["--quiet", "--clean", "--no-deflate", "--messages", "40", "--size", "4000"])
        #expect(status == 0 && output.contains("40 answers"), "relaying went on: \(output)")
        #expect(continuing.process.isRunning)
        let continueLog = continuing.stop(SIGINT)
        #expect(continueLog.contains("relaying goes on unrecorded") && continuing.process.terminationStatus == 2, "\(continueLog)")
    }

    @Test func stoppingDuringHeavyTrafficLeavesValidRecordings() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try ProxyTests.sampleServer(deflate: true)
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let record = directory.appendingPathComponent("heavy.jsonl").path, pcap = directory.appendingPathComponent("heavy.pcap").path
        let proxy = try ProxyTests.proxy(upstream: serverPort, ["--record", record, "--pcap", pcap, "--quiet"])
        let proxyPort = try proxy.proxyPort()
        let clients = try (0..<4).map { _ in
            try Peer(PcapFixtures.python, [ProxyTests.peers.appendingPathComponent("sample_client.py").path, "ws://127.0.0.1:\(proxyPort)/ws", "--clean", "--quiet", "--messages", "100000", "--size", "300"])
        }
        // Stopped in the middle: once thousands of messages went through, with the clients still sending.
        try RecordingFollower.wait(for: "5000 messages relayed", in: record) { $0.filter { $0.dir == .c2s && $0.kind.isMessage }.count >= 5000 }
        let log = proxy.stop(SIGINT)
        for client in clients { _ = client.stop(SIGKILL) }
        #expect(proxy.process.terminationStatus == 0, "\(log)")
        let records = try JSONLCaptureReader(path: record).readAll()
        let messages = records.filter(\.kind.isMessage)
        #expect(messages.count > 100, "traffic was heavy")
        #expect(records.filter { $0.kind == .end }.count == 4, "every connection ended in the record")
        let written = log.split(separator: "\n").first { $0.contains("records written") }.map(String.init) ?? ""
        #expect(written.contains("; \(records.count) records written"), "\(written) vs \(records.count)")
        let legs = try PcapFixtures.messagesByLeg(pcap)
        #expect(legs.map(\.count).reduce(0, +) == 2 * messages.count, "the pcap is valid and holds the same messages on both legs")
    }
}

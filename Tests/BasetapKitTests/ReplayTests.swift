import Foundation
import Testing
@testable import BasetapKit

/// `basetap replay` against real servers on loopback whose behaviour each test chooses.
@Suite(.serialized) struct ReplayTests {
    /// `replay_server.py` in `mode` on a port of its own; `port()` says which.
    static func server(_ mode: String, _ extra: [String] = []) throws -> Peer {
        let server = try Peer(PcapFixtures.python, [ProxyTests.peers.appendingPathComponent("replay_server.py").path, "0", "--mode", mode] + extra)
        _ = try server.port()
        return server
    }

    /// A recorded session with `same`'s answers: requests a1…a7, 0.15 s apart, on `conns` connections.
    static func capture(in directory: URL, conns: Int = 1, gap: Double = 0.15, url: String? = nil) throws -> String {
        var records: [CaptureRecord] = []
        let start = 1_790_000_000.0
        func ts(_ seconds: Double) -> String {
            CaptureTime.format(nanoseconds: Int64((start + seconds) * 1e9))
        }
        for c in 1...conns {
            let conn = "c\(c)"
            var open = CaptureRecord(ts: ts(0), conn: conn, kind: .open)
            open.url = url ?? "/replay?c=\(c)"
            open.headers = [.init("Host", "old.example.org"), .init("Upgrade", "websocket"), .init("Connection", "Upgrade"),
                            .init("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), .init("Sec-WebSocket-Version", "13"), .init("X-Client", "test")]
            records.append(open)
            for n in 1...7 {
                let at = Double(n - 1) * gap
                records.append(.text(#"{"id":"a\#(n)","type":"test.echo","from":"","to":"","payload":{"n":\#(n)}}"#, conn: conn, dir: .c2s, ts: ts(at)))
                records.append(.text(#"{"id":"a\#(n)","type":"test.echo","from":"server.example.org","to":"","ok":true,"payload":{"n":\#(n)}}"#, conn: conn, dir: .s2c, ts: ts(at + 0.001)))
            }
            for dir in [Direction.c2s, .s2c] {
                var close = CaptureRecord(ts: ts(7 * gap), conn: conn, dir: dir, kind: .close)
                close.code = 1000
                records.append(close)
            }
            records.append(CaptureRecord(ts: ts(7 * gap + 0.01), conn: conn, kind: .end))
        }
        let path = directory.appendingPathComponent("recorded.jsonl").path
        let writer = try JSONLCaptureWriter(path: path)
        for record in records { try writer.write(record) }
        try writer.close()
        return path
    }

    static func differences(_ output: String) -> [(kind: String, id: String?, pointer: String?)] {
        output.split(separator: "\n").compactMap { line in
            guard let value = try? JSONValue(parsing: String(line)), let kind = value["diff"]?.stringValue else { return nil }
            return (kind, value["id"]?.stringValue, value["pointer"]?.stringValue)
        }
    }

    @Test func anUnchangedServerGivesNoDifferences() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.server("same")
        let port = try server.port()
        defer { _ = server.stop() }
        let capture = try Self.capture(in: directory)
        let newRecord = directory.appendingPathComponent("new.jsonl").path
        let result = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(port)", "--pace", "fast", "--record", newRecord])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("c1 /replay?c=1: 7 sent, same answers"))
        #expect(result.stdout.contains("answers as recorded"))
        let replayed = try JSONLCaptureReader(path: newRecord).readAll()
        let headers = replayed.first?.headers ?? []
        #expect(headers.contains { $0.name == "Host" && $0.value == "127.0.0.1:\(port)" }, "Host is made anew")
        #expect(headers.contains { $0.name == "X-Client" && $0.value == "test" }, "recorded client headers are kept")
        #expect(!headers.contains { $0.value == "dGhlIHNhbXBsZSBub25jZQ==" }, "the key is made anew")
        #expect(replayed.filter(\.kind.isMessage).count == 14)
    }

    @Test func everyKindOfChangeIsReported() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.server("changed")
        let port = try server.port()
        defer { _ = server.stop() }
        let capture = try Self.capture(in: directory)
        let result = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(port)", "--pace", "fast", "--timeout", "500ms", "--format", "jsonl"])
        #expect(result.status == 1)
        let found = Self.differences(result.stdout)
        let kinds = Set(found.map(\.kind))
        #expect(kinds == ["type", "ok", "value", "missing-answer", "extra-answer", "unsolicited", "close"], "\(result.stdout)")
        #expect(found.contains { $0.kind == "type" && $0.id == "a3" && $0.pointer == "/type" })
        #expect(found.contains { $0.kind == "ok" && $0.id == "a4" })
        #expect(found.contains { $0.kind == "value" && $0.id == "a5" && $0.pointer == "/payload/n" })
        #expect(found.contains { $0.kind == "missing-answer" && $0.id == "a6" })
        #expect(found.contains { $0.kind == "extra-answer" && $0.id == "a7" })
        // The same run as text for people.
        let text = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(port)", "--pace", "fast", "--timeout", "500ms"])
        #expect(text.stdout.contains("type id a3 (test.echo): /type: recorded \"test.echo\", now \"test.echo:error\""), "\(text.stdout)")
        #expect(text.stdout.contains("the server closed with 4000; in the recording it closed with 1000"))
        // --ignore hides what the user says differs by design.
        let ignoring = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(port)", "--pace", "fast", "--timeout", "500ms", "--format", "jsonl", "--ignore", "/payload/n"])
        #expect(!Self.differences(ignoring.stdout).contains { $0.pointer == "/payload/n" })
    }

    @Test func aServerThatClosesEarlyOrNeverAnswers() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let capture = try Self.capture(in: directory)
        let early = try Self.server("early-close")
        let port = try early.port()
        let closed = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(port)", "--pace", "fast", "--timeout", "500ms", "--format", "jsonl"])
        _ = early.stop(SIGKILL)  // the sample server's own shutdown waits out its close timeout
        #expect(closed.status == 1)
        let closedDiffs = Self.differences(closed.stdout)
        #expect(closedDiffs.contains { $0.kind == "close" })
        #expect(closedDiffs.filter { $0.kind == "missing-answer" }.map(\.id) == ["a2", "a3", "a4", "a5", "a6", "a7"])
        #expect(!closed.stdout.contains("within the timeout"), "the server closed; nothing timed out")

        let silent = try Self.server("silent")
        let silentPort = try silent.port()
        defer { _ = silent.stop() }
        let waited = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(silentPort)", "--pace", "fast", "--wait-answers", "--timeout", "200ms"])
        #expect(waited.status == 1)
        #expect(waited.stdout.components(separatedBy: "no answer within the timeout").count - 1 == 7, "\(waited.stdout)")
    }

    /// A server that drops TCP without a Close, recorded through basetap's proxy and replayed
    /// against itself unchanged: the same end on both sides, so no difference.
    @Test func aDroppedConnectionRecordedByTheProxyReplaysTheSame() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.server("drop")
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let recording = directory.appendingPathComponent("through-proxy.jsonl").path
        let proxy = try ProxyTests.proxy(upstream: serverPort, ["--record", recording])
        let proxyPort = try proxy.proxyPort()
        let first = try runBasetap(["replay", try Self.capture(in: directory), "--target", "ws://127.0.0.1:\(proxyPort)", "--pace", "fast", "--timeout", "1s"])
        #expect(first.status == 1 && first.stdout.contains("missing-answer id a4"), "\(first.stdout)")
        let log = proxy.stop(SIGINT)
        #expect(log.contains("ws.no-closing-handshake"), "\(log)")
        let records = try JSONLCaptureReader(path: recording).readAll()
        #expect(records.last?.kind == .end && records.last?.error == WebSocketTap.dropped(by: .s2c), "\(records.last?.jsonLine ?? "")")

        let again = try runBasetap(["replay", recording, "--target", "ws://127.0.0.1:\(serverPort)", "--pace", "fast", "--timeout", "1s"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("same answers") && !again.stdout.contains("close"), "\(again.stdout)")
    }

    /// A capture cut short after the client's Close says nothing about how the server closes.
    @Test func aCaptureWithOnlyTheClientsCloseReplaysTheSame() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.server("same")
        let port = try server.port()
        defer { _ = server.stop() }
        let full = try JSONLCaptureReader(path: try Self.capture(in: directory)).readAll()
        let cut = directory.appendingPathComponent("cut.jsonl").path
        let writer = try JSONLCaptureWriter(path: cut)
        for record in full where !(record.kind == .close && record.dir == .s2c) && record.kind != .end { try writer.write(record) }
        try writer.close()
        let result = try runBasetap(["replay", cut, "--target", "ws://127.0.0.1:\(port)", "--pace", "fast"])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("answers as recorded"))
    }

    @Test func pacingFollowsTheRecordingFastOrFaster() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.server("same")
        let port = try server.port()
        defer { _ = server.stop() }
        let capture = try Self.capture(in: directory, gap: 0.15)
        /// Each send's time after the first: pacing keeps every send at or after its due time from the
        /// start (a timer fires late, never early), so one gap may be shorter when the send before it was late.
        func offsets(_ pace: String) throws -> [Double] {
            let record = directory.appendingPathComponent("\(pace).jsonl").path
            let result = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(port)", "--pace", pace, "--record", record])
            #expect(result.status == 0, "\(result.stdout)")
            let sends = try JSONLCaptureReader(path: record).readAll().filter { $0.dir == .c2s && $0.kind.isMessage }.compactMap { CaptureTime.seconds($0.ts) }
            return sends.dropFirst().map { $0 - sends[0] }
        }
        let recorded = try offsets("recorded"), doubled = try offsets("x2"), fast = try offsets("fast")
        #expect(recorded.count == 6 && doubled.count == 6 && fast.count == 6)
        // 10 ms for the first send being late itself; a loaded machine is late, never early.
        #expect(recorded.enumerated().allSatisfy { $1 >= Double($0 + 1) * 0.15 - 0.01 }, "\(recorded)")
        #expect(doubled.enumerated().allSatisfy { $1 >= Double($0 + 1) * 0.075 - 0.01 }, "\(doubled)")
        #expect(doubled.last! < recorded.last! * 0.8, "x2 takes well under the recorded time: \(doubled) vs \(recorded)")
        #expect(fast.last! < doubled.last! / 2, "\(fast)")
    }

    @Test func connectionsReplayInParallel() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Self.server("same")
        let port = try server.port()
        defer { _ = server.stop() }
        let capture = try Self.capture(in: directory, conns: 4, gap: 0.1)
        let record = directory.appendingPathComponent("parallel.jsonl").path
        let result = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(port)", "--parallel", "4", "--record", record])
        #expect(result.status == 0, "\(result.stdout)")
        let records = try JSONLCaptureReader(path: record).readAll()
        let opens = records.filter { $0.kind == .open }.compactMap { CaptureTime.seconds($0.ts) }
        let ends = records.filter { $0.kind == .end }.compactMap { CaptureTime.seconds($0.ts) }
        #expect(opens.count == 4 && ends.count == 4)
        #expect(opens.max()! < ends.min()!, "all four were open at once")
        let only = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(port)", "--pace", "fast", "--conn", "c3"])
        #expect(only.stdout.contains("Replayed 1 connection"))
        // --conn takes the filter language too: the connections with a message it matches.
        let two = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(port)", "--pace", "fast", "--conn", "conn:c2 or conn:c4"])
        #expect(two.stdout.contains("Replayed 2 connections"), "\(two.stdout)")
        let all = try runBasetap(["replay", capture, "--target", "ws://127.0.0.1:\(port)", "--pace", "fast", "--conn", "/payload/n > 6", "--conn", "c1"])
        #expect(all.stdout.contains("Replayed 4 connections"), "\(all.stdout)")
    }

    @Test func wssTargetsWithASelfSignedCertificate() throws {
        let fixture = try TLSProxyTests.Fixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let server = try Self.server("same", ["--tls-cert", fixture.serverCert, "--tls-key", fixture.serverKey])
        let port = try server.port()
        defer { _ = server.stop() }
        let capture = try Self.capture(in: fixture.directory)
        let trusted = try runBasetap(["replay", capture, "--target", "wss://localhost:\(port)", "--pace", "fast", "--ca", fixture.caCert])
        #expect(trusted.status == 0, "\(trusted.stdout)\(trusted.stderr)")
        let insecure = try runBasetap(["replay", capture, "--target", "wss://127.0.0.1:\(port)", "--pace", "fast", "--insecure"])
        #expect(insecure.status == 0, "\(insecure.stdout)\(insecure.stderr)")
        let untrusted = try runBasetap(["replay", capture, "--target", "wss://localhost:\(port)", "--pace", "fast"])
        #expect(untrusted.status == 2 && untrusted.stderr.contains("CERTIFICATE_VERIFY_FAILED"), "\(untrusted.stderr)")
    }

    @Test func usageAndConnectionErrorsExitWith2() throws {
        let unreachable = try runBasetap(["replay", capturePath("clean-session.jsonl"), "--target", "ws://127.0.0.1:\(unusedPort())"])
        #expect(unreachable.status == 2 && unreachable.stderr.contains("connection refused"))
        for arguments in [["--pace", "slow"], ["--timeout", "soon"], ["--header", "nocolon"], ["--ignore", "payload"]] {
            let bad = try runBasetap(["replay", capturePath("clean-session.jsonl"), "--target", "ws://127.0.0.1:1"] + arguments)
            #expect(bad.status == 2 && bad.stderr.split(separator: "\n").count == 1, "\(arguments): \(bad.stderr)")
        }
        let noConn = try runBasetap(["replay", capturePath("clean-session.jsonl"), "--target", "ws://127.0.0.1:1", "--conn", "c99"])
        #expect(noConn.status == 2 && noConn.stderr.contains("no WebSocket connection to replay chosen by --conn 'c99'"), "\(noConn.stderr)")
        let badFilter = try runBasetap(["replay", capturePath("clean-session.jsonl"), "--target", "ws://127.0.0.1:1", "--conn", "type:a (id:b"])
        #expect(badFilter.status == 2 && badFilter.stderr == "basetap: --conn 'type:a (id:b': at column 13: '(' at column 8 is never closed\n", "\(badFilter.stderr)")
    }

    @Test func unusualFramingIsSentAsRecorded() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let variants = directory.appendingPathComponent("frames.jsonl").path
        #expect(try runBasetap(["mutate", capturePath("fuzz-seed.jsonl"), "--families", "frame", "--count", "30", "-o", variants]).status == 0)
        let fragmented = try JSONLCaptureReader(path: variants).readAll().filter { ($0.frames?.count ?? 0) > 1 && $0.frames!.allSatisfy { $0.rsv == 0 } }
        #expect(!fragmented.isEmpty)
        let server = try Self.server("same")
        let port = try server.port()
        defer { _ = server.stop() }
        let record = directory.appendingPathComponent("sent.jsonl").path
        _ = try runBasetap(["replay", variants, "--target", "ws://127.0.0.1:\(port)", "--pace", "fast", "--timeout", "500ms", "--record", record])
        let sent = try JSONLCaptureReader(path: record).readAll().filter { $0.dir == .c2s && $0.kind.isMessage }
        for variant in fragmented {
            let layout = variant.frames!.map { [$0.fin ? 1 : 0, Int($0.opcode), $0.length] }
            #expect(sent.contains { $0.conn == variant.conn && $0.frames?.map { [$0.fin ? 1 : 0, Int($0.opcode), $0.length] } == layout },
                    "\(variant.conn) sent in \(layout.count) frames as recorded")
        }
        // Frame findings name the message they belong to, as `check` and the proxy do.
        let checked = try runBasetap(["replay", variants, "--target", "ws://127.0.0.1:\(port)", "--pace", "fast", "--timeout", "500ms", "--format", "jsonl"])
        let wire = checked.stdout.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) }.filter { $0["rule"]?.stringValue?.hasPrefix("ws.rsv") == true }
        #expect(!wire.isEmpty && wire.allSatisfy { $0["index"] != nil && $0["offset"] != nil }, "\(checked.stdout.prefix(2000))")
    }
}

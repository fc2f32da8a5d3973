import Foundation
import Testing
@testable import BasetapKit

/// wss sessions between Python `websockets` peers recorded with tcpdump on loopback while the client
/// writes its key log (`SSLContext.keylog_filename`, as browsers do with SSLKEYLOGFILE): decrypted,
/// they hold what the clients sent and received, frame for frame what tshark decodes with the same
/// key log; the same secrets work from a pcapng's Decryption Secrets Block, and through the command line.
@Suite(.serialized) struct TLSCaptureTests {
    struct Recording {
        let directory: URL
        let path: String
        let keys: String
        let expected: JSONValue
        var port: Int { Int(expected["port"].map { if case .number(let n) = $0 { n } else { "" } } ?? "") ?? 0 }

        init(_ arguments: [String]) throws {
            directory = try temporaryDirectory()
            (path, expected) = try PcapFixtures.record(arguments, in: directory)
            keys = path + ".keys"
        }

        var options: PcapDecoder.Options {
            get throws {
                var options = PcapDecoder.Options()
                options.tlsKeyLog = try TLSKeyLog.load(path: keys)
                return options
            }
        }

        /// tshark's options for the same session: the key log, and TLS on the server's port.
        var tsharkOptions: [String] { ["-o", "tls.keylog_file:\(keys)", "-d", "tcp.port==\(port),tls"] }

        /// Every connection's messages are what its client sent and received.
        func expectClientsMatch(_ records: [CaptureRecord]) {
            guard case .array(let clients) = expected["connections"] ?? .null else {
                Issue.record("no expectation")
                return
            }
            let conns = Set(records.map(\.conn))
            #expect(conns.count == clients.count)
            for conn in conns {
                let mine = records.filter { $0.conn == conn }
                let n = Int(mine.first?.url?.split(separator: "=").last ?? "") ?? -1
                guard clients.indices.contains(n) else {
                    Issue.record("\(conn): no client \(n)")
                    continue
                }
                PcapFixtures.expectMatches(mine, clients[n], connection: n)
            }
        }
    }

    /// basetap and tshark agree on every frame, control frame and close code, and on the content of
    /// every server message. tshark inflates a compressed message sent in fragments wrongly (in plain
    /// captures as well) and the client's later messages with it, the context carrying over: the
    /// client's messages are compared up to that one (the clients' own record covers the rest).
    static func expectAgrees(_ ours: [String: RealCaptureTests.Wire], _ theirs: [String: RealCaptureTests.Wire], connections: Int) {
        #expect(ours.count == 2 * connections && ours.keys.sorted() == theirs.keys.sorted())
        for (key, mine) in ours {
            guard let tshark = theirs[key] else { continue }
            #expect(mine.frames == tshark.frames && mine.controlFrames == tshark.controlFrames && mine.closeCodes == tshark.closeCodes, "\(key)")
            let shown = key.hasSuffix("s2c") ? mine.texts.count : 3
            #expect(mine.texts.prefix(shown) == tshark.texts.prefix(shown) && tshark.texts.count == mine.texts.count, "\(key): \(mine.texts) vs \(tshark.texts)")
        }
    }

    @Test func tls13WithDeflateDecryptsToWhatTheClientsSentAndAsTsharkDecodes() throws {
        let recording = try Recording(["--tls", "1.3", "--deflate", "--connections", "2"])
        defer { try? FileManager.default.removeItem(at: recording.directory) }
        let (decoded, summary) = try PcapFixtures.decode(recording.path, options: try recording.options)
        #expect(summary.tlsDecrypted == ["TLS 1.3, TLS_AES_256_GCM_SHA384": 2])
        #expect(summary.tlsStreams == 0 && summary.tlsLost.isEmpty && summary.gaps == 0)
        #expect(decoded.records.filter(\.kind.isMessage).allSatisfy { $0.frames?.first?.rsv == 4 }, "every message compressed")
        recording.expectClientsMatch(decoded.records)
        let ours = try RealCaptureTests.basetap(recording.path, options: try recording.options)
        Self.expectAgrees(ours, try RealCaptureTests.tshark(recording.path, options: recording.tsharkOptions), connections: 2)

        // The same secrets inside the capture, as editcap puts them in a Decryption Secrets Block.
        let withSecrets = recording.directory.appendingPathComponent("with-secrets.pcapng").path
        let editcap = try Peer("/usr/bin/editcap", ["--inject-secrets", "tls,\(recording.keys)", recording.path, withSecrets])
        editcap.process.waitUntilExit()
        #expect(editcap.process.terminationStatus == 0, "\(editcap.finish())")
        let (fromBlock, blockSummary) = try PcapFixtures.decode(withSecrets)
        #expect(PcapFixtures.timeless(fromBlock.records) == PcapFixtures.timeless(decoded.records))
        #expect(blockSummary.tlsDecrypted == summary.tlsDecrypted)
    }

    /// Every cipher (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305) and both PRF hashes, in both versions.
    @Test(arguments: [
        ("1.3:TLS_AES_128_GCM_SHA256", "TLS 1.3, TLS_AES_128_GCM_SHA256"),
        ("1.3:TLS_CHACHA20_POLY1305_SHA256", "TLS 1.3, TLS_CHACHA20_POLY1305_SHA256"),
        ("1.2:ECDHE-RSA-AES128-GCM-SHA256", "TLS 1.2, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        ("1.2:ECDHE-RSA-AES256-GCM-SHA384", "TLS 1.2, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
        ("1.2:ECDHE-RSA-CHACHA20-POLY1305", "TLS 1.2, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ])
    func eachSuiteDecryptsToWhatTheClientSentAndAsTsharkDecodes(tls: String, suite: String) throws {
        let recording = try Recording(["--tls", tls, "--deflate"])
        defer { try? FileManager.default.removeItem(at: recording.directory) }
        let (decoded, summary) = try PcapFixtures.decode(recording.path, options: try recording.options)
        #expect(summary.tlsDecrypted == [suite: 1])
        recording.expectClientsMatch(decoded.records)
        let ours = try RealCaptureTests.basetap(recording.path, options: try recording.options)
        Self.expectAgrees(ours, try RealCaptureTests.tshark(recording.path, options: recording.tsharkOptions), connections: 1)
    }

    /// `check`, `decode` and `replay` take the key log; the summary says what was decrypted and
    /// why the rest was not; a key log that cannot be used is an input error naming the place.
    @Test func theCommandsDecryptAndSayWhatTheyCouldNot() throws {
        let recording = try Recording(["--tls", "1.3", "--connections", "2"])
        defer { try? FileManager.default.removeItem(at: recording.directory) }
        let plain = try runBasetap(["check", recording.path])
        #expect(plain.status == 0 && plain.stderr.contains("2 TLS streams skipped (encrypted, and no --tls-keylog given)"), "\(plain.stderr)")

        // The web inspector says the same of what it cannot show.
        let view = try Peer(basetapExecutable, ["view", recording.path, "--listen", "127.0.0.1:0"])
        try view.waitFor("\(recording.path): Decoded")
        #expect(view.printed.contains("2 TLS streams skipped (encrypted, and no --tls-keylog given)"), "\(view.printed)")
        _ = view.stop()

        let checked = try runBasetap(["check", recording.path, "--tls-keylog", recording.keys])
        #expect(checked.status == 1, "the planted id.syntax errors are found")
        #expect(checked.stdout.contains("Checked 24 messages in 2 connections: 6 errors, 4 warnings."), "\(checked.stdout)")

        // One session's lines only: the other connection is named as not decrypted.
        let lines = try String(contentsOfFile: recording.keys, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        let oneRandom = try #require(lines.first?.split(separator: " ")[1])
        let oneSession = try writeFile(lines.filter { $0.contains(oneRandom) }.joined(separator: "\n") + "\n", named: "one.keys", in: recording.directory)
        let half = try runBasetap(["decode", recording.path, "--tls-keylog", oneSession])
        #expect(half.status == 0)
        #expect(half.stderr.contains("1 WebSocket connection, 12 messages"), "\(half.stderr)")
        #expect(half.stderr.contains("1 TLS stream decrypted (TLS 1.3, TLS_AES_256_GCM_SHA384), 1 TLS stream skipped (no key for it in the key log)"))

        let broken = try writeFile("CLIENT_RANDOM \(oneRandom) 00\nCLIENT_TRAFFIC_SECRET_0 nothex 00\n", named: "broken.keys", in: recording.directory)
        let refused = try runBasetap(["decode", recording.path, "--tls-keylog", broken])
        #expect(refused.status == 2 && refused.stderr == "basetap: \(broken):2: CLIENT_TRAFFIC_SECRET_0 needs a 64-digit hex client random and a hex secret\n")
        let missing = try runBasetap(["replay", recording.path, "--tls-keylog", recording.directory.path + "/none.keys", "--target", "ws://127.0.0.1:1"])
        #expect(missing.status == 2 && missing.stderr.contains("none.keys: cannot read the TLS key log"), "\(missing.stderr)")

        // Replay sends the decrypted client messages to a server again.
        let server = try ProxyTests.sampleServer()
        defer { _ = server.stop() }
        let replayed = try runBasetap(["replay", recording.path, "--tls-keylog", recording.keys, "--target", "ws://127.0.0.1:\(try server.port())",
                                       "--pace", "fast", "--ignore-volatile"])
        #expect(replayed.status == 0 && replayed.stdout.contains("Replayed 2 connections against ws://127.0.0.1:"), "\(replayed.stdout)\(replayed.stderr)")
        #expect(replayed.stdout.contains("12 messages sent, answers as recorded."))
    }
}

import Foundation
import Testing
@testable import BasetapKit

/// wss in reverse and forward mode, with certificates from basetap's own CA trusted by real clients.
@Suite(.serialized) struct TLSProxyTests {
    /// A CA directory and a server certificate for localhost and 127.0.0.1 issued by it.
    struct Fixture {
        let directory: URL
        var caDir: String { directory.appendingPathComponent("ca").path }
        var caCert: String { directory.appendingPathComponent("ca/\(CertificateAuthority.certificateFile)").path }
        var serverCert: String { directory.appendingPathComponent("server.pem").path }
        var serverKey: String { directory.appendingPathComponent("server-key.pem").path }

        init() throws {
            directory = try temporaryDirectory()
            #expect(try runBasetap(["ca", "init", "--ca-dir", caDir]).status == 0)
            #expect(try runBasetap(["ca", "issue", "localhost", "127.0.0.1", "--ca-dir", caDir, "--cert", serverCert, "--key", serverKey]).status == 0)
        }

        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    }

    @Test func caFilesAreCreatedWithPrivateModesAndTheKeyIsNeverShown() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let mode = { (path: String) in (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1 }
        #expect(try mode(fixture.caDir) == 0o700)
        #expect(try mode(fixture.caDir + "/" + CertificateAuthority.keyFile) == 0o600)
        #expect(try mode(fixture.serverKey) == 0o600)
        let show = try runBasetap(["ca", "show", "--ca-dir", fixture.caDir])
        #expect(show.status == 0 && show.stdout.contains("sha256:") && show.stdout.contains("update-ca-certificates"))
        let export = try runBasetap(["ca", "export", "--ca-dir", fixture.caDir])
        #expect(export.stdout == (try String(contentsOfFile: fixture.caCert, encoding: .utf8)))
        for output in [show.stdout, export.stdout] { #expect(!output.contains("PRIVATE KEY")) }
        let again = try runBasetap(["ca", "init", "--ca-dir", fixture.caDir])
        #expect(again.status == 2 && again.stderr.contains("--force"))
        let missing = try runBasetap(["ca", "show", "--ca-dir", fixture.path("nowhere")])
        #expect(missing.status == 2 && missing.stderr.contains("basetap ca init"))
        // The issued certificate verifies against the CA with an independent implementation.
        let verify = try Peer("/usr/bin/openssl", ["verify", "-CAfile", fixture.caCert, fixture.serverCert])
        verify.process.waitUntilExit()
        #expect(verify.process.terminationStatus == 0)
    }

    @Test func reverseModeSpeaksWssOnBothLegsAndRecordsPlaintext() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let server = try ProxyTests.sampleServer(["--tls-cert", fixture.serverCert, "--tls-key", fixture.serverKey])
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let record = fixture.path("wss.jsonl"), pcap = fixture.path("wss.pcap"), keys = fixture.path("keys.log")
        let proxy = try ProxyTests.proxy([
            "--upstream", "wss://localhost:\(serverPort)", "--upstream-ca", fixture.caCert,
            "--tls-cert", fixture.serverCert, "--tls-key", fixture.serverKey, "--record", record, "--pcap", pcap, "--sslkeylog", keys, "--quiet",
        ])
        let proxyPort = try proxy.proxyPort()
        let wire = try Tcpdump(path: fixture.path("wire.pcap"), ports: [proxyPort, serverPort])
        let (status, output) = try ProxyTests.client(url: "wss://localhost:\(proxyPort)/secure", ["--ca", fixture.caCert, "--messages", "4", "--quiet"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("4 answers"))
        try wire.stop(afterConnections: 2)
        let log = proxy.stop(SIGINT)
        #expect(!log.contains("failed"), "\(log)")
        let records = try JSONLCaptureReader(path: record).readAll()
        #expect(records.first?.url == "/secure")
        #expect(records.first?.headers?.first { $0.name == "Host" }?.value == "localhost:\(proxyPort)", "the record keeps what the client sent")
        #expect(records.filter(\.kind.isMessage).count == 12)
        #expect(records.last?.kind == .end && records.last?.error == nil)
        #expect(try PcapFixtures.messagesByLeg(pcap) == Array(repeating: records.filter(\.kind.isMessage).map(\.payload), count: 2), "both legs")
        // Both legs' TLS 1.3 secrets, in the NSS format Wireshark reads.
        let keyLines = try String(contentsOfFile: keys, encoding: .utf8).split(separator: "\n")
        #expect(keyLines.filter { $0.hasPrefix("CLIENT_TRAFFIC_SECRET_0 ") }.count == 2)
        #expect(keyLines.allSatisfy { $0.split(separator: " ").count == 3 })
        // What crossed the wire, decrypted with that key log, is what the proxy recorded, on both legs.
        var withKeys = PcapDecoder.Options()
        withKeys.tlsKeyLog = try TLSKeyLog.load(path: keys)
        #expect(try PcapFixtures.messagesByLeg(wire.path, options: withKeys) == Array(repeating: records.filter(\.kind.isMessage).map(\.payload), count: 2))
        #expect(try PcapFixtures.decode(wire.path, options: withKeys).1.tlsDecrypted.values.reduce(0, +) == 2)
    }

    @Test func anUntrustedUpstreamCertificateIsA502UnlessInsecure() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let server = try ProxyTests.sampleServer(["--tls-cert", fixture.serverCert, "--tls-key", fixture.serverKey])
        let serverPort = try server.port()
        defer { _ = server.stop() }
        let strict = try ProxyTests.proxy(["--upstream", "wss://localhost:\(serverPort)"])
        let proxyPort = try strict.proxyPort()
        let (status, output) = try ProxyTests.client(proxyPort, ["--quiet"])
        #expect(status != 0 && output.contains("502"), "\(output)")
        let log = strict.stop(SIGINT)
        #expect(log.contains("upstream localhost:\(serverPort): TLS handshake failed: CERTIFICATE_VERIFY_FAILED"), "\(log)")

        let insecure = try ProxyTests.proxy(["--upstream", "wss://localhost:\(serverPort)", "--insecure-upstream"])
        let insecurePort = try insecure.proxyPort()
        let (again, answer) = try ProxyTests.client(insecurePort, ["--quiet", "--clean"])
        #expect(again == 0 && answer.contains("6 answers"), "\(answer)")
        _ = insecure.stop(SIGINT)
    }

    @Test func forwardModeInterceptsConnectTunnelsWithLeavesFromItsCA() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let tlsServer = try ProxyTests.sampleServer(["--tls-cert", fixture.serverCert, "--tls-key", fixture.serverKey])
        let tlsPort = try tlsServer.port()
        defer { _ = tlsServer.stop() }
        let plainServer = try ProxyTests.sampleServer()
        let plainPort = try plainServer.port()
        defer { _ = plainServer.stop() }
        let record = fixture.path("forward.jsonl")
        let proxy = try ProxyTests.proxy([
            "--forward", "--ca-dir", fixture.caDir, "--upstream-ca", fixture.caCert,
            "--record", record, "--format", "jsonl",
        ])
        let proxyPort = try proxy.proxyPort()
        // wss through CONNECT: the client trusts only basetap's CA, and gets a leaf for the name it asked for.
        let (wss, wssOutput) = try ProxyTests.client(url: "wss://localhost:\(tlsPort)/tunnel", ["--ca", fixture.caCert, "--proxy", "127.0.0.1:\(proxyPort)", "--quiet"])
        #expect(wss == 0 && wssOutput.contains("6 answers"), "\(wssOutput)")
        // Plain ws through CONNECT.
        let (ws, wsOutput) = try ProxyTests.client(url: "ws://127.0.0.1:\(plainPort)/plain", ["--proxy", "127.0.0.1:\(proxyPort)", "--quiet", "--clean"])
        #expect(ws == 0 && wsOutput.contains("6 answers"), "\(wsOutput)")
        // An absolute-form upgrade request is rewritten to origin form.
        let fd = connectLoopback(proxyPort)
        let head = "GET ws://127.0.0.1:\(plainPort)/absolute?q=1 HTTP/1.1\r\nHost: 127.0.0.1:\(plainPort)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        _ = write(fd, head, head.utf8.count)
        var answer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &answer, answer.count)
        #expect(String(decoding: answer[0..<max(0, n)], as: UTF8.self).hasPrefix("HTTP/1.1 101"))
        let closeFrame = FrameEncoder.encode(WebSocketFrame(opcode: .close, maskKey: (9, 8, 7, 6), payload: [0x03, 0xE8]))
        _ = write(fd, closeFrame, closeFrame.count)
        _ = read(fd, &answer, answer.count)
        close(fd)
        // A client that does not trust the CA is told why it failed.
        let (untrusting, _) = try ProxyTests.client(url: "wss://localhost:\(tlsPort)/", ["--proxy", "127.0.0.1:\(proxyPort)", "--quiet"])
        #expect(untrusting != 0)
        try proxy.waitFor("does not trust basetap's CA")
        try RecordingFollower.waitUntilIdle(record)
        let log = proxy.stop(SIGINT)
        #expect(log.contains("does not trust basetap's CA"), "\(log)")
        let opens = try JSONLCaptureReader(path: record).readAll().filter { $0.kind == .open }
        #expect(opens.map(\.url) == ["/tunnel", "/plain", "/absolute?q=1"])
    }

    @Test func forwardModeRefusesHostsOutsideAllowHostsAndOpenProxies() throws {
        let proxy = try ProxyTests.proxy(["--forward", "--ca-dir", try temporaryDirectory().path, "--allow-hosts", "*.example.org,localhost"])
        let proxyPort = try proxy.proxyPort()
        let (status, output) = try ProxyTests.client(url: "ws://127.0.0.1:1/", ["--proxy", "127.0.0.1:\(proxyPort)", "--quiet"])
        #expect(status != 0 && output.contains("403"), "\(output)")
        _ = proxy.stop(SIGINT)
        let open = try runBasetap(["proxy", "--forward", "--listen", "0.0.0.0:0"])
        #expect(open.status == 2 && open.stderr.contains("--allow-hosts"))
        let both = try runBasetap(["proxy", "--forward", "--upstream", "ws://127.0.0.1:1"])
        #expect(both.status == 2)
    }
}

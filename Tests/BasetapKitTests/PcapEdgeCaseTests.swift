import Foundation
import Testing
@testable import BasetapKit

/// Captures made packet by packet for what real sessions rarely show: damage, holes, bombs, TLS.
@Suite struct PcapEdgeCaseTests {
    static let client = Endpoint(address: [10, 0, 0, 2], port: 40000)
    static let server = Endpoint(address: [10, 0, 0, 1], port: 9001)
    static let upgrade = Array("GET /ws HTTP/1.1\r\nHost: 10.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8)

    static func accept(deflate: Bool = false) -> [UInt8] {
        Array(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            + (deflate ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "") + "\r\n").utf8)
    }

    static func text(_ s: String, client: Bool) -> [UInt8] {
        FrameEncoder.encode(WebSocketFrame(opcode: .text, maskKey: client ? (1, 2, 3, 4) : nil, payload: Array(s.utf8)))
    }

    /// Writes the packets and returns the file's path.
    static func write(_ packets: [[UInt8]], in directory: URL, name: String = "synthetic.pcap") throws -> String {
        let path = directory.appendingPathComponent(name).path
        let writer = try PcapWriter(path: path)
        for (i, p) in packets.enumerated() { try writer.write(ipPacket: p, timestamp: 1_764_000_000_000_000_000 + Int64(i) * 1_000_000) }
        try writer.close()
        return path
    }

    /// A whole WebSocket session: handshake, upgrade, `exchange`, FINs.
    static func session(_ exchange: (inout TCPPacketBuilder) -> [[UInt8]], deflate: Bool = false, client: Endpoint = client) -> [[UInt8]] {
        var b = TCPPacketBuilder(client: client, server: server)
        var packets = b.handshake()
        packets += b.data(.c2s, upgrade) + b.data(.s2c, accept(deflate: deflate))
        packets += exchange(&b)
        packets += [b.fin(.c2s), b.fin(.s2c)]
        return packets
    }

    static let hello = #"{"id":"1","type":"chat.send","from":"","to":"","payload":{}}"#

    @Test func aTruncatedFileIsDecodedUpToTheDamage() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Self.write(Self.session { b in (0..<20).flatMap { _ in b.data(.c2s, Self.text(Self.hello, client: true)) } }, in: directory)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = directory.appendingPathComponent("cut.pcap").path
        try data.prefix(data.count - 150).write(to: URL(fileURLWithPath: cut))
        let (collector, summary) = try PcapFixtures.decode(cut)
        #expect(summary.truncation?.contains("packet \(summary.packets + 1)") == true, "\(summary.truncation ?? "")")
        // The cut removes both FINs and the end of the last data packet: 19 whole messages remain.
        #expect(collector.records.filter(\.kind.isMessage).count == 19)
        let result = try runBasetap(["decode", cut, "-o", directory.appendingPathComponent("out.jsonl").path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("truncated"))
        #expect(try JSONLCaptureReader(path: directory.appendingPathComponent("out.jsonl").path).readAll().count == 21)
        let header = directory.appendingPathComponent("header.pcap").path
        try data.prefix(30).write(to: URL(fileURLWithPath: header))
        #expect(try runBasetap(["decode", header]).status == 2)
    }

    /// A pcapng whose interface says microseconds for nanosecond times puts every packet past the
    /// year 2262: the times are clamped and the summary says so; nothing traps.
    @Test func timestampsOutOfRangeAreClampedAndSaidNotTrappedOn() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("resolution.pcapng").path
        let writer = try PcapWriter(path: path, format: .pcapng)
        for (i, p) in Self.session({ b in b.data(.c2s, Self.text(Self.hello, client: true)) }).enumerated() {
            try writer.write(ipPacket: p, timestamp: 1_764_000_000_000_000_000 + Int64(i) * 1_000_000)
        }
        try writer.close()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let nanosecondOption = Data([9, 0, 1, 0, 9])
        let at = try #require(bytes.range(of: nanosecondOption))
        bytes[at.lowerBound + 4] = 6  // if_tsresol 10^-6: the same numbers, a thousand times later
        try bytes.write(to: URL(fileURLWithPath: path))
        let (collector, summary) = try PcapFixtures.decode(path)
        #expect(summary.clampedTimestamps == summary.packets && summary.packets > 0)
        #expect(collector.records.filter(\.kind.isMessage).count == 1, "the session is still decoded")
        let result = try runBasetap(["check", path])
        #expect(result.status != 132 && result.stderr.contains("out of range (before 1970, past 2262, or a wrong time resolution) and clamped"), "\(result.status) \(result.stderr)")
    }

    /// A classic pcap's seconds are read as signed: 0xFFFFFFF0 is a time before 1970. Found by the
    /// `pcap` fuzz target: the record's timestamp text trapped on the negative value.
    @Test func timesBefore1970AreClampedToo() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Self.write(Self.session { b in b.data(.c2s, Self.text(Self.hello, client: true)) }, in: directory)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var offset = 24
        while offset + 16 <= bytes.count {
            bytes.replaceSubrange(offset..<offset + 4, with: [0xF0, 0xFF, 0xFF, 0xFF])
            offset += 16 + (Int(bytes[offset + 8]) | Int(bytes[offset + 9]) << 8 | Int(bytes[offset + 10]) << 16)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (collector, summary) = try PcapFixtures.decode(path)
        #expect(summary.clampedTimestamps == summary.packets && summary.packets > 0)
        #expect(collector.records.filter(\.kind.isMessage).count == 1)
        #expect(collector.records.allSatisfy { $0.ts.hasPrefix("1970-01-01T00:00:00") }, "\(collector.records.map(\.ts))")
        #expect(CaptureTime.format(nanoseconds: -1) == CaptureTime.format(nanoseconds: 0))
    }

    /// After both FINs, a retransmitted FIN and a late copy of data belong to the connection that
    /// closed, not to a new one that began before the capture; a SYN on the same ports is a new one.
    @Test func packetsAfterTheCloseBelongToTheClosedConnection() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var late: [[UInt8]] = []
        var packets = Self.session { b in
            let message = Self.text(Self.hello, client: true)
            let sequence = b.next.c2s
            late = [b.packet(.c2s, flags: TCPPacketBuilder.flagACK | TCPPacketBuilder.flagPSH, payload: message, sequence: sequence)]
            return b.data(.c2s, message)
        }
        packets += [packets[packets.count - 2]] + late  // the client's FIN again, then its message again
        packets += Self.session { b in b.data(.c2s, Self.text(Self.hello, client: true)) }  // the ports used again
        let (collector, summary) = try PcapFixtures.decode(try Self.write(packets, in: directory))
        #expect(summary.tcpStreams == 2 && summary.midstreamSkipped == 0, "\(summary)")
        #expect(summary.webSocketConnections == 2 && collector.records.filter(\.kind.isMessage).count == 2)
    }

    @Test func garbageIsRefusedClearly() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("garbage.pcap").path
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }).write(to: URL(fileURLWithPath: path))
        let decode = try runBasetap(["decode", path])
        #expect(decode.status == 2)
        #expect(decode.stderr == "basetap: \(path): not a pcap, pcapng or HAR file (JSONL captures need no decoding; --format har writes one as a HAR)\n")
        let check = try runBasetap(["check", path])
        #expect(check.status == 2)
        #expect(check.stderr.hasPrefix("basetap: \(path):1: not JSON"))
    }

    @Test func plainHTTPAndTLSAreCountedNotDecoded() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var http = TCPPacketBuilder(client: Self.client, server: Self.server)
        var packets = http.handshake()
        packets += http.data(.c2s, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        packets += http.data(.s2c, Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".utf8))
        var tls = TCPPacketBuilder(client: Endpoint(address: [10, 0, 0, 3], port: 40001), server: Endpoint(address: [10, 0, 0, 1], port: 443))
        packets += tls.handshake()
        packets += tls.data(.c2s, [0x16, 0x03, 0x01, 0x00, 0x05, 1, 0, 0, 1, 0])
        packets += tls.data(.s2c, [0x16, 0x03, 0x03, 0x00, 0x02, 2, 0])
        let (collector, summary) = try PcapFixtures.decode(try Self.write(packets, in: directory))
        #expect(collector.records.isEmpty)
        #expect(summary.tcpStreams == 2)
        #expect(summary.webSocketConnections == 0)
        #expect(summary.tlsStreams == 1)
        #expect(summary.otherStreams == 1)
        #expect(DecodeRun.describe(summary).contains("1 TLS stream skipped (encrypted, and no --tls-keylog given)"))
    }

    @Test func aDeflateBombIsStoppedAtTheLimit() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bomb = try deflate([String(repeating: "0", count: 4 << 20)], takeover: true)[0]
        let frame = FrameEncoder.encode(WebSocketFrame(rsv: 4, opcode: .text, payload: bomb))
        let path = try Self.write(Self.session({ b in b.data(.s2c, frame) + b.data(.s2c, Self.text(Self.hello, client: false)) }, deflate: true), in: directory)
        var options = PcapDecoder.Options()
        options.inflate.maxSize = 1 << 20
        let (collector, _) = try PcapFixtures.decode(path, options: options)
        // The fixture's connection ends with FINs and no Close frames.
        #expect(collector.violations.map(\.rule) == ["ws.inflate-limit", "ws.no-closing-handshake"])
        #expect(collector.records.filter(\.kind.isMessage).map(\.payload) == [Array(Self.hello.utf8)], "the next, uncompressed message")
        let result = try runBasetap(["check", "--max-message-size", "1048576", "--format", "jsonl", path])
        #expect(result.status == 1)
        #expect(result.stdout.contains(#""rule":"ws.inflate-limit""#))
        #expect(result.stdout.contains(#""offset":"#))
        // The ratio limit on its own: 4 MiB of zeros is about 1000:1; inflated whole, they are no JSON.
        let generous = try runBasetap(["check", "--max-inflate-ratio", "100000", path])
        #expect(!generous.stdout.contains("ws.inflate-limit") && generous.stdout.contains("json.syntax"), "\(generous.stdout)\(generous.stderr)")
        let strict = try runBasetap(["check", "--max-inflate-ratio", "50", "--format", "jsonl", path])
        #expect(strict.status == 1 && strict.stdout.contains(#""rule":"ws.inflate-limit""#) && strict.stdout.contains("50"), "\(strict.stdout)")
        #expect(try runBasetap(["check", "--max-inflate-ratio", "0", path]).status == 2)
    }

    @Test func anUpgradeAnsweredWithTheWrongAcceptIsReported() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var b = TCPPacketBuilder(client: Self.client, server: Self.server)
        let wrong = Array(String(decoding: Self.accept(), as: UTF8.self).replacingOccurrences(of: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", with: "bm90IHRoZSByaWdodCBhbnN3ZXI=").utf8)
        let packets = b.handshake() + b.data(.c2s, Self.upgrade) + b.data(.s2c, wrong) + b.data(.c2s, Self.text(Self.hello, client: true))
        let (collector, _) = try PcapFixtures.decode(try Self.write(packets, in: directory))
        #expect(collector.violations.map(\.rule) == ["ws.handshake-accept"])
        #expect(collector.records.filter(\.kind.isMessage).count == 1, "the connection is still followed")
    }

    @Test func aMissingSegmentIsAGapAndAConflictingRetransmissionIsReported() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var dropped: [UInt8] = []
        let packets = Self.session { b in
            var out = b.data(.c2s, Self.text(Self.hello, client: true))
            let retransmitted = b.next.s2c
            out += b.data(.s2c, Self.text(Self.hello, client: false))
            out.append(b.packet(.s2c, flags: TCPPacketBuilder.flagACK, payload: Array("XX".utf8), sequence: retransmitted + 2))
            dropped = b.segment(.c2s, Self.text(Self.hello, client: true))
            out += b.data(.c2s, Self.text(Self.hello, client: true))
            return out
        }
        let (collector, summary) = try PcapFixtures.decode(try Self.write(packets, in: directory))
        #expect(!dropped.isEmpty)
        #expect(summary.gaps == 1)
        #expect(summary.gapBytes == Self.text(Self.hello, client: true).count)
        #expect(summary.overlapConflicts == 1)
        #expect(collector.violations.map(\.rule).sorted() == ["tcp.gap", "tcp.overlap-conflict", "ws.no-closing-handshake"])
        #expect(collector.records.filter(\.kind.isMessage).count == 2, "the messages before the hole and the first copy")
    }

    @Test func aReusedFourTupleIsANewConnection() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = Self.session { b in b.data(.c2s, Self.text(Self.hello, client: true)) }
        var second = TCPPacketBuilder(client: Self.client, server: Self.server, clientISN: 900_000, serverISN: 77)
        var packets = first + second.handshake()
        packets += second.data(.c2s, Self.upgrade) + second.data(.s2c, Self.accept())
        packets += second.data(.c2s, Self.text(Self.hello, client: true))
        let (collector, _) = try PcapFixtures.decode(try Self.write(packets, in: directory))
        let conns = collector.records.filter { $0.kind == .open }.map(\.conn)
        #expect(conns == ["10.0.0.2:40000>10.0.0.1:9001", "10.0.0.2:40000>10.0.0.1:9001#2"])
        #expect(collector.records.last?.error == "the capture ended before the connection closed")
    }

    @Test func midStreamConnectionsAreFollowedOnlyFromAnUpgrade() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // One capture starts at the upgrade (no SYN), the other inside WebSocket traffic.
        var a = TCPPacketBuilder(client: Self.client, server: Self.server)
        _ = a.handshake()
        var packets = a.data(.s2c, []) + a.data(.c2s, Self.upgrade) + a.data(.s2c, Self.accept())
        packets += a.data(.c2s, Self.text(Self.hello, client: true))
        var b = TCPPacketBuilder(client: Endpoint(address: [10, 0, 0, 4], port: 40004), server: Self.server)
        _ = b.handshake()
        packets += b.data(.s2c, Self.text(Self.hello, client: false))
        let (collector, summary) = try PcapFixtures.decode(try Self.write(packets, in: directory))
        #expect(collector.records.filter(\.kind.isMessage).map(\.conn) == ["10.0.0.2:40000>10.0.0.1:9001"])
        #expect(summary.midstreamSkipped == 1)
    }

    /// `ws.no-closing-handshake` names the side whose TCP end came first, and only when neither side
    /// sent a Close; the `end` record says the same in the words every path uses.
    @Test func aConnectionEndedWithoutCloseFramesNamesTheSideThatDroppedIt() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func ends(_ exchange: (inout TCPPacketBuilder) -> [[UInt8]], first: Direction) throws -> (PcapFixtures.Collector, String) {
            var b = TCPPacketBuilder(client: Self.client, server: Self.server)
            var packets = b.handshake() + b.data(.c2s, Self.upgrade) + b.data(.s2c, Self.accept(deflate: false))
            packets += exchange(&b) + [b.fin(first), b.fin(first.opposite)]
            let (collector, _) = try PcapFixtures.decode(try Self.write(packets, in: directory, name: "\(first).pcap"))
            return (collector, collector.records.last { $0.kind == .end }?.error ?? "")
        }
        let hello = { (b: inout TCPPacketBuilder) in b.data(.c2s, Self.text(Self.hello, client: true)) }
        let (serverDrop, serverEnd) = try ends(hello, first: .s2c)
        #expect(serverDrop.violations.filter { $0.rule == Rule.wsNoClosingHandshake.id }.map(\.dir) == [.s2c])
        #expect(serverEnd == WebSocketTap.dropped(by: .s2c))
        let (clientDrop, clientEnd) = try ends(hello, first: .c2s)
        #expect(clientDrop.violations.filter { $0.rule == Rule.wsNoClosingHandshake.id }.map(\.dir) == [.c2s])
        #expect(clientEnd == WebSocketTap.dropped(by: .c2s))
        let closing = { (b: inout TCPPacketBuilder) in
            b.data(.c2s, FrameEncoder.encode(WebSocketFrame(opcode: .close, maskKey: (1, 2, 3, 4), payload: [0x03, 0xE8])))
                + b.data(.s2c, FrameEncoder.encode(WebSocketFrame(opcode: .close, payload: [0x03, 0xE8])))
        }
        let (clean, cleanEnd) = try ends(closing, first: .s2c)
        #expect(!clean.violations.contains { $0.rule == Rule.wsNoClosingHandshake.id } && cleanEnd.isEmpty, "a closing handshake, then TCP")
    }

    @Test func decodeWritesFiltersAndSummarizes() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let other = Endpoint(address: [10, 0, 0, 9], port: 41000)
        let packets = Self.session { b in b.data(.c2s, Self.text(Self.hello, client: true)) }
            + Self.session({ b in b.data(.c2s, Self.text(#"{"id":"2"}"#, client: true)) }, client: other)
        let path = try Self.write(packets, in: directory)
        let out = directory.appendingPathComponent("one.jsonl").path
        let result = try runBasetap(["decode", "--conn", "10.0.0.9:", path, "-o", out])
        #expect(result.status == 0)
        // The counts are the kept connection's; neither fixture connection has a closing handshake.
        #expect(result.stderr == "Decoded \(packets.count) packets (connections matching --conn \"10.0.0.9:\"): 1 TCP stream, 1 WebSocket connection, 1 message, 0 control frames\n"
            + "1 WebSocket or TCP finding on the wire; 'basetap check \(path)' lists them\n")
        let records = try JSONLCaptureReader(path: out).readAll()
        #expect(Set(records.map(\.conn)) == ["10.0.0.9:41000>10.0.0.1:9001"])
        #expect(records.map(\.kind) == [.open, .text, .end])
        #expect(records[1].frames == [CaptureRecord.Frame(fin: true, opcode: 1, rsv: 0, length: 10, masked: true)])
        let check = try runBasetap(["check", path])
        #expect(check.status == 1)
        #expect(check.stdout.contains("Checked 2 messages in 2 connections"))
    }
}

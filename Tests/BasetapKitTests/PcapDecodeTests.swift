import Foundation
import Testing
@testable import BasetapKit

/// `basetap decode` on real sessions between real peers, recorded with tcpdump on loopback.
@Suite(.serialized) struct PcapDecodeTests {
    @Test func aPlainSessionDecodesToExactlyWhatWasSent() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, expected) = try PcapFixtures.record([], in: directory)
        let (collector, summary) = try PcapFixtures.decode(path)
        #expect(summary.webSocketConnections == 1)
        #expect(summary.gaps == 0)
        guard case .array(let connections) = expected["connections"] ?? .null else { return }
        PcapFixtures.expectMatches(collector.records, connections[0], connection: 0)
        let frames = collector.records.compactMap(\.frames).flatMap { $0 }
        #expect(frames.contains { $0.length > 125 && $0.length <= 65535 }, "a 16-bit length")
        #expect(frames.contains { $0.length > 65535 }, "a 64-bit length")
        // Python websockets sends the three parts and then an empty final frame.
        #expect(collector.records.contains { $0.kind.isMessage && ($0.frames?.count ?? 0) >= 3 && $0.frames?.first?.fin == false }, "the fragmented message")
        #expect(collector.records.contains { $0.kind == .ping } && collector.records.contains { $0.kind == .pong })
        let open = try #require(collector.records.first)
        #expect(open.kind == .open && open.subprotocol == "basemessage.v1" && open.url?.hasPrefix("/ws?client=0") == true)
        #expect(open.headers?.contains { $0.name == "Sec-WebSocket-Key" } == true)
        #expect(collector.records.last?.kind == .end)
        #expect(collector.violations.isEmpty, "\(collector.violations)")
    }

    @Test func deflateOverIPv6WithInterleavedConnectionsMatchesTheClientsAndTshark() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, expected) = try PcapFixtures.record(["--deflate", "--ipv6", "--connections", "3"], in: directory)
        let (collector, summary) = try PcapFixtures.decode(path)
        #expect(summary.webSocketConnections == 3)
        var oneAwake = PcapDecoder.Options()
        oneAwake.maxAwakeInflaters = 1
        let (sleepy, _) = try PcapFixtures.decode(path, options: oneAwake)
        #expect(sleepy.records == collector.records, "inflaters put to sleep between messages wake with their windows")
        let conns = Array(Set(collector.records.map(\.conn))).sorted()
        #expect(conns.allSatisfy { $0.hasPrefix("[::1]:") && $0.contains(">[::1]:") })
        #expect(collector.records.filter(\.kind.isMessage).allSatisfy { $0.frames?.first?.rsv == 4 }, "every message compressed")
        guard case .array(let clients) = expected["connections"] ?? .null else { return }
        for conn in conns {
            let records = collector.records.filter { $0.conn == conn }
            let url = records.first?.url ?? ""
            let n = Int(url.split(separator: "=").last ?? "") ?? -1
            PcapFixtures.expectMatches(records, clients[n], connection: n)
        }
        guard case .number(let port) = expected["port"] ?? .null else { return }
        let tshark = try PcapFixtures.tsharkMessageCounts(path, port: Int(port)!)
        #expect(tshark == [12, 12, 12])
        #expect(conns.map { conn in collector.records.filter { $0.conn == conn && $0.kind.isMessage }.count } == [12, 12, 12])
    }

    @Test func libwebsocketsPeersDecodeAsTsharkCounts() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, expected) = try PcapFixtures.record(["--peer", "lws"], in: directory)
        let (collector, summary) = try PcapFixtures.decode(path)
        guard case .number(let port) = expected["port"] ?? .null else { return }
        let tshark = try PcapFixtures.tsharkMessageCounts(path, port: Int(port)!)
        let byConn = Dictionary(grouping: collector.records.filter(\.kind.isMessage), by: \.conn)
        let order = collector.records.filter { $0.kind == .open }.map(\.conn)
        #expect(summary.webSocketConnections >= 1)
        #expect(summary.gaps == 0)
        // tshark numbers streams by their first packet, basetap opens them at the 101: compare the counts.
        // Exact against tshark's TCP reassembly; its WebSocket dissector may only count fewer (it misses
        // frames that share a segment when lws coalesces them), never more.
        let ours = order.map { byConn[$0]?.count ?? 0 }.filter { $0 > 0 }.sorted()
        #expect(ours == (try PcapFixtures.tsharkReassembledMessageCounts(path)).sorted())
        #expect(zip(ours, tshark.sorted()).allSatisfy { $0 >= $1 } && ours.count == tshark.count, "\(ours) vs dissector \(tshark)")
        #expect(tshark.reduce(0, +) > 10)
    }

    /// libwebsockets serves files and upgrades on one keep-alive connection: the session after
    /// two ordinary requests is decoded, as tshark decodes it.
    @Test func anUpgradeAfterKeepAliveRequestsIsDecoded() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, expected) = try PcapFixtures.record(["--peer", "lws-keep-alive"], in: directory)
        let (collector, summary) = try PcapFixtures.decode(path)
        guard case .array(let received) = expected["received"] ?? .null, case .number(let port) = expected["port"] ?? .null else {
            Issue.record("no expectation recorded")
            return
        }
        #expect(summary.tcpStreams == 1 && summary.webSocketConnections == 1 && summary.otherStreams == 0)
        #expect(summary.httpRequests == 2)
        let texts = collector.records.filter { $0.dir == .s2c && $0.kind == .text }.map(\.text)
        #expect(Array(texts.prefix(received.count)) == received.map { if case .string(let s) = $0 { s } else { nil } })
        #expect(try PcapFixtures.tsharkMessageCounts(path, port: Int(port)!) == [texts.count])
        #expect(collector.violations.isEmpty, "\(collector.violations)")
        #expect(DecodeRun.describe(summary).contains("2 plain HTTP requests"))
    }

    @Test(arguments: [
        ("tiny segments", PcapFixtures.Mangling(segmentSize: 7)),
        ("reordered", PcapFixtures.Mangling(segmentSize: 50, reorder: true)),
        ("retransmitted", PcapFixtures.Mangling(segmentSize: 40, retransmit: true)),
        ("overlapping", PcapFixtures.Mangling(segmentSize: 64, overlap: true)),
        ("all at once, raw IP", PcapFixtures.Mangling(segmentSize: 13, reorder: true, retransmit: true, overlap: true, link: .raw)),
        ("Linux SLL, nanoseconds", PcapFixtures.Mangling(segmentSize: 100, link: .sll, format: .pcap(nanosecond: true, bigEndian: false))),
        ("SLL2, big-endian", PcapFixtures.Mangling(segmentSize: 999, link: .sll2, format: .pcap(nanosecond: false, bigEndian: true))),
        ("BSD loopback, pcapng", PcapFixtures.Mangling(segmentSize: 300, reorder: true, link: .null, format: .pcapng)),
    ])
    func mangledCapturesDecodeToTheSameMessages(name: String, mangling: PcapFixtures.Mangling) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, _) = try Self.sharedRecording(in: directory)
        let mangled = directory.appendingPathComponent("mangled").path
        try PcapFixtures.mangle(path, to: mangled, mangling)
        let (original, _) = try PcapFixtures.decode(path)
        let (decoded, summary) = try PcapFixtures.decode(mangled)
        #expect(summary.gaps == 0, "\(name)")
        #expect(summary.overlapConflicts == 0, "\(name)")
        #expect(PcapFixtures.timeless(decoded.records) == PcapFixtures.timeless(original.records), "\(name)")
        #expect(decoded.records.filter(\.kind.isMessage).count == 24)
    }

    /// One recording (deflate, two connections) shared by the mangling cases.
    static func sharedRecording(in directory: URL) throws -> (String, JSONValue) {
        try PcapFixtures.record(["--deflate", "--connections", "2"], in: directory)
    }
}

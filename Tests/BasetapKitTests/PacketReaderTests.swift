import Foundation
import Testing
@testable import BasetapKit

/// TCP found inside the tunnels captures are taken on (mobile cores, overlays, mirror ports),
/// and a summary that says what else a file held.
@Suite struct PacketReaderTests {
    static let outer = ([UInt8]([192, 0, 2, 1]), [UInt8]([192, 0, 2, 2]))

    static func ipv4(_ protocolNumber: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let length = 20 + payload.count
        var header: [UInt8] = [0x45, 0, UInt8(length >> 8), UInt8(length & 0xFF), 0, 1, 0x40, 0, 64, protocolNumber, 0, 0] + outer.0 + outer.1
        var sum = 0
        for i in stride(from: 0, to: 20, by: 2) { sum += Int(header[i]) << 8 | Int(header[i + 1]) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        header[10] = UInt8((~sum >> 8) & 0xFF)
        header[11] = UInt8(~sum & 0xFF)
        return header + payload
    }

    static func udp(_ port: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let length = 8 + payload.count
        return ipv4(17, [0xC3, 0x50, UInt8(port >> 8), UInt8(port & 0xFF), UInt8(length >> 8), UInt8(length & 0xFF), 0, 0] + payload)
    }

    static func ethernet(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, UInt8(type >> 8), UInt8(type & 0xFF)] + payload
    }

    static func ethernetIP(_ packet: [UInt8]) -> [UInt8] {
        ethernet(packet.first! >> 4 == 6 ? 0x86DD : 0x0800, packet)
    }

    static let sequence: [UInt8] = [0, 0, 0, 7]

    /// Each way of wrapping an inner IP packet, as an Ethernet frame (the MPLS one behind a VLAN tag).
    static let tunnels: [(name: String, wrap: @Sendable ([UInt8]) -> [UInt8])] = [
        ("MPLS", { ethernet(0x8100, [0x00, 0x64, 0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40] + $0) }),
        ("PPPoE", { ethernet(0x8864, [0x11, 0x00, 0x00, 0x01, UInt8((2 + $0.count) >> 8), UInt8((2 + $0.count) & 0xFF), 0x00, 0x21] + $0) }),
        ("IP-in-IP", { ethernetIP(ipv4(4, $0)) }),
        ("6in4", { ethernetIP(ipv4(41, $0)) }),
        ("GRE", { ethernetIP(ipv4(47, [0x20, 0x00, 0x08, 0x00, 0, 0, 0, 42] + $0)) }),
        ("ERSPAN", { ethernetIP(ipv4(47, [0x10, 0x00, 0x88, 0xBE] + sequence + [0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00] + ethernetIP($0))) }),
        ("ERSPAN", { ethernetIP(ipv4(47, [0x10, 0x00, 0x22, 0xEB] + sequence + [0x20, 0x01, 0x00, 0x00] + [UInt8](repeating: 0, count: 8) + ethernetIP($0))) }),
        ("VXLAN", { ethernetIP(udp(4789, [0x08, 0, 0, 0, 0, 0, 0x01, 0] + ethernetIP($0))) }),
        ("Geneve", { ethernetIP(udp(6081, [0x00, 0x00, 0x65, 0x58, 0, 0, 0x01, 0] + ethernetIP($0))) }),
        ("GTP-U", { ethernetIP(udp(2152, [0x30, 0xFF, UInt8($0.count >> 8), UInt8($0.count & 0xFF), 0, 0, 0, 1] + $0)) }),
        ("GTP-U", {  // with a PDU session container extension header, as 5G user planes send
            let body = [0x00, 0x01, 0x00, 0x85, 0x01, 0x10, 0x09, 0x00] + $0
            return ethernetIP(udp(2152, [0x34, 0xFF, UInt8(body.count >> 8), UInt8(body.count & 0xFF), 0, 0, 0, 1] + body))
        }),
    ]

    static func session(ipv6: Bool) -> [[UInt8]] {
        let client = ipv6 ? Endpoint(address: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [2], port: 40000) : PcapEdgeCaseTests.client
        let server = ipv6 ? Endpoint(address: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1], port: 9001) : PcapEdgeCaseTests.server
        var b = TCPPacketBuilder(client: client, server: server)
        var packets = b.handshake()
        packets += b.data(.c2s, PcapEdgeCaseTests.upgrade) + b.data(.s2c, PcapEdgeCaseTests.accept())
        packets += b.data(.c2s, PcapEdgeCaseTests.text(PcapEdgeCaseTests.hello, client: true))
        packets += b.data(.s2c, PcapEdgeCaseTests.text(PcapEdgeCaseTests.hello, client: false))
        return packets + [b.fin(.c2s), b.fin(.s2c)]
    }

    static func write(_ frames: [[UInt8]], in directory: URL, name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        let writer = try PcapWriter(path: path)
        for (i, frame) in frames.enumerated() { try writer.write(frame: frame, timestamp: 1_764_000_000_000_000_000 + Int64(i) * 1_000_000) }
        try writer.close()
        return path
    }

    @Test(arguments: 0..<tunnels.count)
    func tcpInsideATunnelIsDecodedAsTsharkDecodesIt(index: Int) throws {
        let (name, wrap) = Self.tunnels[index]
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let packets = Self.session(ipv6: name == "6in4")
        let path = try Self.write(packets.map(wrap), in: directory, name: "tunnel.pcap")
        let (collector, summary) = try PcapFixtures.decode(path)
        #expect(summary.webSocketConnections == 1, "\(name): \(DecodeRun.describe(summary))")
        #expect(collector.records.filter(\.kind.isMessage).map(\.text) == [PcapEdgeCaseTests.hello, PcapEdgeCaseTests.hello], "\(name)")
        #expect(summary.tunnelledPackets == [name: packets.count], "\(name)")
        #expect(summary.unreadPackets.isEmpty, "\(name): \(summary.unreadPackets)")
        #expect(DecodeRun.describe(summary).contains("\(packets.count) packets from inside \(name)"))
        #expect(try PcapFixtures.tsharkMessageCounts(path, port: 9001) == [2], "tshark reads \(name) the same way")
    }

    /// A file with no TCP basetap can read says what it held instead of a bare "0 TCP streams".
    @Test func whatWasNotReadIsNamedInTheSummary() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dns = Self.ethernetIP(Self.udp(53, [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]))
        let icmp = Self.ethernetIP(Self.ipv4(1, [8, 0, 0, 0, 0, 1, 0, 1]))
        let arp = Self.ethernet(0x0806, [UInt8](repeating: 0, count: 28))
        let echo = Self.ethernetIP(Self.udp(2152, [0x32, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0, 1, 0, 0]))
        let frames = Array(repeating: dns, count: 3) + [icmp, arp, echo]
        let path = try Self.write(frames, in: directory, name: "other.pcap")
        let (_, summary) = try PcapFixtures.decode(path)
        #expect(summary.tcpStreams == 0)
        let text = DecodeRun.describe(summary)
        #expect(text.hasSuffix("; not read: 3 UDP packets to port 53 (DNS), 1 ARP frame, 1 GTP-U signalling packet (echo, error indication, end marker), 1 ICMP packet"), "\(text)")
        let check = try runBasetap(["check", path])
        #expect(check.status == 0)
        #expect(check.stderr.contains("not read: 3 UDP packets to port 53 (DNS)"), "\(check.stderr)")
    }

    /// Tunnels inside tunnels end at a depth no real network reaches, without recursing on.
    @Test func nestingIsBounded() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var packet = Self.session(ipv6: false)[0]
        for _ in 0..<20 { packet = Self.ipv4(4, packet) }
        let path = try Self.write([Self.ethernetIP(packet)], in: directory, name: "deep.pcap")
        let (_, summary) = try PcapFixtures.decode(path)
        #expect(summary.unreadPackets == [DecodeSummary.PacketKind("frame", "nested more than \(PacketReader.maxDepth) tunnels deep"): 1])
    }
}

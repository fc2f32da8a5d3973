import Foundation
import Testing
@testable import BasetapKit

/// Files written by `PcapWriter` with packets from `TCPPacketBuilder`, read back by tshark and by
/// libpcap: every format and link type the proxy and the tests write, IPv4 and IPv6.
@Suite struct PcapWriterTests {
    static let formats: [(String, PcapWriter.Format)] = [
        ("pcap µs", .pcap(nanosecond: false, bigEndian: false)),
        ("pcap ns big-endian", .pcap(nanosecond: true, bigEndian: true)),
        ("pcapng", .pcapng),
    ]
    static let start: Int64 = 1_764_900_000_123_456_789

    /// A short session: handshake, data both ways (one message cut in two segments), FINs.
    static func write(_ path: String, link: PcapWriter.Link, format: PcapWriter.Format, ipv6: Bool) throws {
        let client = Endpoint(address: ipv6 ? [UInt8](repeating: 0, count: 15) + [1] : [127, 0, 0, 1], port: 50312)
        let server = Endpoint(address: ipv6 ? [UInt8](repeating: 0, count: 15) + [1] : [127, 0, 0, 2], port: 8080)
        var tcp = TCPPacketBuilder(client: client, server: server, clientISN: 4_294_967_290, serverISN: 77)
        let writer = try PcapWriter(path: path, link: link, format: format)
        let packets = tcp.handshake() + tcp.data(.c2s, Array("hello, server".utf8), segmentSize: 8) + [tcp.segment(.s2c, Array("hi".utf8))]
            + [tcp.fin(.c2s), tcp.fin(.s2c)]
        for (i, packet) in packets.enumerated() { try writer.write(ipPacket: packet, timestamp: start + Int64(i) * 1_000_001) }
        try writer.close()
        #expect(writer.packets == packets.count)
    }

    @Test(arguments: [PcapWriter.Link.ethernet, .raw, .null, .sll, .sll2])
    func tsharkReadsEveryFormatAndLink(_ link: PcapWriter.Link) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, format) in Self.formats {
            for ipv6 in [false, true] {
                let path = directory.appendingPathComponent("w.pcap").path
                try Self.write(path, link: link, format: format, ipv6: ipv6)
                let fields = ["frame.time_epoch", ipv6 ? "ipv6.src" : "ip.src", "tcp.srcport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags",
                              "tcp.payload", ipv6 ? "ipv6.plen" : "ip.checksum.status"]
                let out = try PcapFixtures.tshark(["-r", path, "-o", "ip.check_checksum:TRUE", "-T", "fields"] + fields.flatMap { ["-e", $0] })
                let rows = out.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
                let label = "\(name), \(link), \(ipv6 ? "IPv6" : "IPv4")"
                try #require(rows.count == 8, "\(label): \(out)")
                // Microsecond files keep the microseconds; the others every nanosecond.
                let nanoseconds: Bool = if case .pcap(false, _) = format { false } else { true }
                #expect(rows[0][0] == (nanoseconds ? "1764900000.123456789" : "1764900000.123456000"), "\(label)")
                #expect(rows[1][0] == (nanoseconds ? "1764900000.124456790" : "1764900000.124456000"), "\(label)")
                let (clientIP, serverIP) = ipv6 ? ("::1", "::1") : ("127.0.0.1", "127.0.0.2")
                #expect(rows.map { $0[1] } == [clientIP, serverIP, clientIP, clientIP, clientIP, serverIP, clientIP, serverIP], "\(label)")
                #expect(rows.map { $0[2] } == ["50312", "8080", "50312", "50312", "50312", "8080", "50312", "8080"], "\(label)")
                // The client's sequence numbers wrap past 2^32 as TCP's do.
                #expect(rows.map { $0[3] } == ["4294967290", "77", "4294967291", "4294967291", "3", "78", "8", "80"], "\(label)")
                #expect(rows.map { $0[4] } == ["0", "4294967291", "78", "78", "78", "8", "80", "9"], "\(label)")
                #expect(rows.map { $0[5] } == ["0x0002", "0x0012", "0x0010", "0x0018", "0x0018", "0x0018", "0x0011", "0x0011"], "\(label)")
                #expect(rows.map { $0[6] } == ["", "", "", "68656c6c6f2c2073", "6572766572", "6869", "", ""], "\(label)")
                if ipv6 {
                    #expect(rows.map { $0[7] } == ["20", "20", "20", "28", "25", "22", "20", "20"], "\(label)")
                } else {
                    #expect(rows.allSatisfy { $0[7] == "1" }, "\(label): every IPv4 header checksum is good")
                }
            }
        }
    }

    /// libpcap (what `decode` reads with) sees the same packets and times.
    @Test func libpcapReadsWhatWasWritten() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, format) in Self.formats {
            let path = directory.appendingPathComponent("w.pcap").path
            try Self.write(path, link: .ethernet, format: format, ipv6: false)
            let file = try PcapFile(path: path)
            var times: [Int64] = []
            var lengths: [Int] = []
            while let packet = try file.next() {
                times.append(packet.timestamp)
                lengths.append(packet.originalLength)
            }
            let nanoseconds: Bool = if case .pcap(false, _) = format { false } else { true }
            #expect(times.count == 8, "\(name)")
            #expect(times.first == (nanoseconds ? Self.start : Self.start / 1000 * 1000), "\(name)")
            #expect(lengths == [54, 54, 54, 62, 59, 56, 54, 54], "\(name): 14 bytes of Ethernet, 20 of IP, 20 of TCP, the payload")
        }
    }
}

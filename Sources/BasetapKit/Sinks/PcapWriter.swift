import Foundation

/// Writes captures that Wireshark, tshark, libpcap and `basetap decode` read: classic pcap
/// (either byte order, micro- or nanosecond timestamps) or pcapng.
public final class PcapWriter {
    public enum Format: Sendable {
        case pcap(nanosecond: Bool, bigEndian: Bool)
        case pcapng
    }

    /// Link types the writer can frame packets for.
    public enum Link: Int32, Sendable {
        case null = 0
        case ethernet = 1
        case raw = 101
        case sll = 113
        case sll2 = 276
    }

    public let link: Link
    private let format: Format
    private let output: OutputFile
    public private(set) var packets = 0

    public init(output: OutputFile, link: Link = .ethernet, format: Format = .pcap(nanosecond: false, bigEndian: false)) throws {
        self.output = output
        self.link = link
        self.format = format
        var header: [UInt8] = []
        switch format {
        case .pcap(let nanosecond, let bigEndian):
            Self.put32(nanosecond ? 0xA1B2_3C4D : 0xA1B2_C3D4, bigEndian, &header)
            Self.put16(2, bigEndian, &header)
            Self.put16(4, bigEndian, &header)
            Self.put32(0, bigEndian, &header)  // thiszone
            Self.put32(0, bigEndian, &header)  // sigfigs
            Self.put32(262_144, bigEndian, &header)  // snaplen
            Self.put32(UInt32(link.rawValue), bigEndian, &header)
        case .pcapng:
            // Section header block, then one interface with nanosecond timestamps (if_tsresol = 9).
            var shb: [UInt8] = []
            Self.put32(0x1A2B_3C4D, false, &shb)
            Self.put16(1, false, &shb)
            Self.put16(0, false, &shb)
            shb += [UInt8](repeating: 0xFF, count: 8)  // section length unknown
            header += Self.block(type: 0x0A0D_0D0A, body: shb)
            var idb: [UInt8] = []
            Self.put16(UInt16(link.rawValue), false, &idb)
            Self.put16(0, false, &idb)
            Self.put32(262_144, false, &idb)
            idb += [9, 0, 1, 0, 9, 0, 0, 0]  // option if_tsresol (9) = 10^-9, padded
            idb += [0, 0, 0, 0]  // opt_endofopt
            header += Self.block(type: 1, body: idb)
        }
        try output.write(header)
    }

    public convenience init(path: String, link: Link = .ethernet, format: Format = .pcap(nanosecond: false, bigEndian: false)) throws {
        try self.init(output: try OutputFile(path: path), link: link, format: format)
    }

    /// Writes one IP packet (IPv4 or IPv6), framed for the file's link type.
    public func write(ipPacket: [UInt8], timestamp: Int64) throws {
        try write(frame: Self.frame(ipPacket, link: link), timestamp: timestamp)
    }

    /// Writes one frame as it is, link header included.
    public func write(frame: [UInt8], timestamp: Int64) throws {
        var record: [UInt8] = []
        switch format {
        case .pcap(let nanosecond, let bigEndian):
            Self.put32(UInt32(timestamp / 1_000_000_000), bigEndian, &record)
            let fraction = timestamp % 1_000_000_000
            Self.put32(UInt32(nanosecond ? fraction : fraction / 1000), bigEndian, &record)
            Self.put32(UInt32(frame.count), bigEndian, &record)
            Self.put32(UInt32(frame.count), bigEndian, &record)
            record += frame
        case .pcapng:
            var epb: [UInt8] = []
            Self.put32(0, false, &epb)  // interface 0
            Self.put32(UInt32(UInt64(timestamp) >> 32), false, &epb)
            Self.put32(UInt32(UInt64(timestamp) & 0xFFFF_FFFF), false, &epb)
            Self.put32(UInt32(frame.count), false, &epb)
            Self.put32(UInt32(frame.count), false, &epb)
            epb += frame
            epb += [UInt8](repeating: 0, count: (4 - frame.count % 4) % 4)
            record = Self.block(type: 6, body: epb)
        }
        try output.write(record)
        packets += 1
    }

    public func flush() throws { try output.flush() }
    public func close() throws { try output.close() }

    static func frame(_ ip: [UInt8], link: Link) -> [UInt8] {
        let isIPv6 = (ip.first ?? 0) >> 4 == 6
        let etherType: [UInt8] = isIPv6 ? [0x86, 0xDD] : [0x08, 0x00]
        switch link {
        case .ethernet:
            return [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2] + etherType + ip
        case .raw:
            return ip
        case .null:
            // LINKTYPE_NULL names IPv6 by a BSD AF_INET6 (24, 28 or 30); Linux's 10 is not one, and
            // Wireshark reads such packets as unknown data. 30 is macOS's, where these files come from.
            let family: UInt32 = isIPv6 ? 30 : 2
            return withUnsafeBytes(of: family.littleEndian, Array.init) + ip
        case .sll:
            return [0, 0, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0] + etherType + ip  // ARPHRD_LOOPBACK
        case .sll2:
            return etherType + [0, 0, 0, 0, 0, 1, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0] + ip
        }
    }

    static func block(type: UInt32, body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let length = UInt32(12 + body.count)
        put32(type, false, &out)
        put32(length, false, &out)
        out += body
        put32(length, false, &out)
        return out
    }

    static func put16(_ v: UInt16, _ bigEndian: Bool, _ out: inout [UInt8]) {
        out += bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)]
    }

    static func put32(_ v: UInt32, _ bigEndian: Bool, _ out: inout [UInt8]) {
        let bytes = [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        out += bigEndian ? bytes : bytes.reversed()
    }
}

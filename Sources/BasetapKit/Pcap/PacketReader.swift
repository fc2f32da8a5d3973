/// Finds the TCP segment in a captured frame: the link layer, IP, and the tunnels that carry IP
/// or Ethernet inside (VLAN tags, MPLS, PPPoE, IP-in-IP and 6in4, GRE and ERSPAN, VXLAN, Geneve,
/// GTP-U). What it cannot read is counted by what it was, for the summary to say.
struct PacketReader {
    private var fragments = IPDecoder()
    /// Frames that held no TCP, by what they held.
    private(set) var unread: [DecodeSummary.PacketKind: Int] = [:]
    /// Segments found inside tunnels, by the outermost tunnel.
    private(set) var tunnelled: [String: Int] = [:]
    /// Deep enough for every real stack (VLAN in MPLS in GRE in IP); bounds what a crafted frame costs.
    static let maxDepth = 8

    /// Link types basetap reads: Ethernet, BSD NULL and LOOP, raw IP (several numbers), Linux SLL and SLL2.
    mutating func segment(_ p: UnsafeRawBufferPointer, linkType: Int32) -> TCPSegment? {
        var tunnel: String?
        let segment = link(p, linkType: linkType, tunnel: &tunnel)
        if segment != nil, let tunnel { tunnelled[tunnel, default: 0] += 1 }
        return segment
    }

    private mutating func link(_ p: UnsafeRawBufferPointer, linkType: Int32, tunnel: inout String?) -> TCPSegment? {
        switch linkType {
        case 1:
            return ethernet(p, depth: 0, tunnel: &tunnel)
        case 0, 108:  // BSD NULL (host byte order) and LOOP (network byte order): a 4-byte address family
            guard p.count >= 4 else { return skip("frame", "too short for a link header") }
            let le = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
            let be = UInt32(p[3]) | UInt32(p[2]) << 8 | UInt32(p[1]) << 16 | UInt32(p[0]) << 24
            let family = linkType == 108 ? be : (le < 256 ? le : be)
            switch family {
            case 2: return ip(Self.rest(p, 4), .ipv4, depth: 0, tunnel: &tunnel)
            case 10, 24, 28, 30: return ip(Self.rest(p, 4), .ipv6, depth: 0, tunnel: &tunnel)  // AF_INET6 on Linux, the BSDs, macOS
            default: return skip("loopback frame", "of address family \(family)")
            }
        case 12, 14, 101, 228, 229:
            return ipByVersion(p, depth: 0, tunnel: &tunnel)
        case 113:  // Linux cooked capture (SLL): protocol at 14, header 16 bytes
            guard p.count >= 16 else { return skip("frame", "too short for a link header") }
            return etherType(UInt16(p[14]) << 8 | UInt16(p[15]), Self.rest(p, 16), depth: 0, tunnel: &tunnel)
        case 276:  // Linux cooked capture v2 (SLL2): protocol at 0, header 20 bytes
            guard p.count >= 20 else { return skip("frame", "too short for a link header") }
            return etherType(UInt16(p[0]) << 8 | UInt16(p[1]), Self.rest(p, 20), depth: 0, tunnel: &tunnel)
        default:
            return skip("frame", "of link type \(linkType), which basetap does not read")
        }
    }

    private static func rest(_ p: UnsafeRawBufferPointer, _ offset: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: p[min(offset, p.count)...])
    }

    private mutating func skip(_ noun: String, _ detail: String = "") -> TCPSegment? {
        unread[DecodeSummary.PacketKind(noun, detail), default: 0] += 1
        return nil
    }

    private mutating func ethernet(_ p: UnsafeRawBufferPointer, depth: Int, tunnel: inout String?) -> TCPSegment? {
        var offset = 12
        while offset + 2 <= p.count {
            let type = UInt16(p[offset]) << 8 | UInt16(p[offset + 1])
            if type == 0x8100 || type == 0x88A8 || type == 0x9100 {  // VLAN tags, possibly stacked
                offset += 4
                continue
            }
            return etherType(type, Self.rest(p, offset + 2), depth: depth, tunnel: &tunnel)
        }
        return skip("Ethernet frame", "too short for a header")
    }

    private mutating func etherType(_ type: UInt16, _ p: UnsafeRawBufferPointer, depth: Int, tunnel: inout String?) -> TCPSegment? {
        guard depth <= Self.maxDepth else { return skip("frame", "nested more than \(Self.maxDepth) tunnels deep") }
        switch type {
        case 0x0800: return ip(p, .ipv4, depth: depth, tunnel: &tunnel)
        case 0x86DD: return ip(p, .ipv6, depth: depth, tunnel: &tunnel)
        case 0x8847, 0x8848: return mpls(p, depth: depth + 1, tunnel: &tunnel)
        case 0x8864: return pppoe(p, depth: depth + 1, tunnel: &tunnel)
        case 0x6558: return ethernet(p, depth: depth + 1, tunnel: &tunnel)  // transparent Ethernet bridging (GRE, Geneve)
        case 0x0806: return skip("ARP frame")
        case 0x8863: return skip("PPPoE discovery frame")
        case 0x88CC: return skip("LLDP frame")
        default: return skip("Ethernet frame", "of type 0x\(String(type, radix: 16, uppercase: true))")
        }
    }

    private mutating func ipByVersion(_ p: UnsafeRawBufferPointer, depth: Int, tunnel: inout String?) -> TCPSegment? {
        switch p.first.map({ $0 >> 4 }) {
        case 4: return ip(p, .ipv4, depth: depth, tunnel: &tunnel)
        case 6: return ip(p, .ipv6, depth: depth, tunnel: &tunnel)
        default: return skip("packet", "neither IPv4 nor IPv6")
        }
    }

    /// Labels up to the bottom of the stack, then IP (told by its version) or an Ethernet pseudowire
    /// behind a control word (RFC 4385: its first nibble is 0).
    private mutating func mpls(_ p: UnsafeRawBufferPointer, depth: Int, tunnel: inout String?) -> TCPSegment? {
        tunnel = tunnel ?? "MPLS"
        var offset = 0
        while offset + 4 <= p.count {
            let bottom = p[offset + 2] & 1 != 0
            offset += 4
            guard bottom else { continue }
            let inner = Self.rest(p, offset)
            if inner.first.map({ $0 >> 4 }) == 0 { return ethernet(Self.rest(inner, 4), depth: depth, tunnel: &tunnel) }
            return ipByVersion(inner, depth: depth, tunnel: &tunnel)
        }
        return skip("MPLS frame", "without the bottom of a label stack")
    }

    private mutating func pppoe(_ p: UnsafeRawBufferPointer, depth: Int, tunnel: inout String?) -> TCPSegment? {
        tunnel = tunnel ?? "PPPoE"
        guard p.count >= 8 else { return skip("PPPoE frame", "too short for a header") }
        switch UInt16(p[6]) << 8 | UInt16(p[7]) {
        case 0x0021: return ip(Self.rest(p, 8), .ipv4, depth: depth, tunnel: &tunnel)
        case 0x0057: return ip(Self.rest(p, 8), .ipv6, depth: depth, tunnel: &tunnel)
        case let other: return skip("PPP frame", "of protocol 0x\(String(other, radix: 16, uppercase: true)) (link control)")
        }
    }

    private mutating func ip(_ p: UnsafeRawBufferPointer, _ version: IPVersion, depth: Int, tunnel: inout String?) -> TCPSegment? {
        guard depth <= Self.maxDepth else { return skip("frame", "nested more than \(Self.maxDepth) tunnels deep") }
        let payload: IPPayload
        switch fragments.payload(p, version: version) {
        case .payload(let whole): payload = whole
        case .pending: return nil  // a fragment waiting for the rest
        case .damaged: return skip("IP packet", "with a damaged header")
        }
        return payload.body.withUnsafeBytes { body in
            switch payload.protocolNumber {
            case 6:
                guard let segment = TCPSegment(payload.body, source: payload.source, destination: payload.destination) else {
                    return skip("TCP segment", "with a damaged header")
                }
                return segment
            case 4:
                tunnel = tunnel ?? "IP-in-IP"
                return ip(body, .ipv4, depth: depth + 1, tunnel: &tunnel)
            case 41:
                tunnel = tunnel ?? (version == .ipv4 ? "6in4" : "IPv6-in-IPv6")
                return ip(body, .ipv6, depth: depth + 1, tunnel: &tunnel)
            case 47: return gre(body, depth: depth + 1, tunnel: &tunnel)
            case 17: return udp(body, depth: depth + 1, tunnel: &tunnel)
            case 1: return skip("ICMP packet")
            case 58: return skip("ICMPv6 packet")
            case 2: return skip("IGMP packet")
            case 50: return skip("IPsec ESP packet", "(encrypted)")
            case 132: return skip("SCTP packet")
            case let other: return skip("IP packet", "of protocol \(other)")
            }
        }
    }

    /// GRE (RFC 2784, 2890) and the ERSPAN mirror sessions carried in it (types II and III).
    private mutating func gre(_ p: UnsafeRawBufferPointer, depth: Int, tunnel: inout String?) -> TCPSegment? {
        guard p.count >= 4 else { return skip("GRE packet", "too short for a header") }
        let flags = UInt16(p[0]) << 8 | UInt16(p[1])
        guard flags & 0x7 == 0 else { return skip("GRE packet", "of version \(flags & 0x7) (PPTP)") }
        let type = UInt16(p[2]) << 8 | UInt16(p[3])
        var offset = 4
        if flags & 0x8000 != 0 || flags & 0x4000 != 0 { offset += 4 }  // checksum (and offset)
        if flags & 0x2000 != 0 { offset += 4 }  // key
        if flags & 0x1000 != 0 { offset += 4 }  // sequence number
        switch type {
        case 0x88BE:
            tunnel = tunnel ?? "ERSPAN"
            // Type I has no sequence number and no ERSPAN header; type II has an 8-byte one.
            return ethernet(Self.rest(p, offset + (flags & 0x1000 != 0 ? 8 : 0)), depth: depth, tunnel: &tunnel)
        case 0x22EB:
            tunnel = tunnel ?? "ERSPAN"
            guard p.count >= offset + 12 else { return skip("ERSPAN packet", "too short for a header") }
            let platform = p[offset + 11] & 0x01 != 0  // an 8-byte platform-specific subheader follows
            return ethernet(Self.rest(p, offset + 12 + (platform ? 8 : 0)), depth: depth, tunnel: &tunnel)
        default:
            tunnel = tunnel ?? "GRE"
            return etherType(type, Self.rest(p, offset), depth: depth, tunnel: &tunnel)
        }
    }

    private mutating func udp(_ p: UnsafeRawBufferPointer, depth: Int, tunnel: inout String?) -> TCPSegment? {
        guard p.count >= 8 else { return skip("UDP packet", "too short for a header") }
        let source = UInt16(p[0]) << 8 | UInt16(p[1]), destination = UInt16(p[2]) << 8 | UInt16(p[3])
        let body = Self.rest(p, 8)
        let ports = [destination, source]
        if ports.contains(4789) || ports.contains(8472) {  // IANA's port and the Linux kernel's old default
            tunnel = tunnel ?? "VXLAN"
            return ethernet(Self.rest(body, 8), depth: depth, tunnel: &tunnel)
        }
        if ports.contains(6081) {
            tunnel = tunnel ?? "Geneve"
            guard body.count >= 8 else { return skip("Geneve packet", "too short for a header") }
            let options = Int(body[0] & 0x3F) * 4
            return etherType(UInt16(body[2]) << 8 | UInt16(body[3]), Self.rest(body, 8 + options), depth: depth, tunnel: &tunnel)
        }
        if ports.contains(2152) { return gtpU(body, depth: depth, tunnel: &tunnel) }
        let port = ports.min { Self.wellKnown($0) < Self.wellKnown($1) }!
        let name = Self.udpServices[port].map { " (\($0))" } ?? ""
        return skip("UDP packet", "to port \(port)\(name)")
    }

    /// The port that names the service: a known one, else the lower (servers listen below clients).
    private static func wellKnown(_ port: UInt16) -> Int {
        udpServices[port] != nil ? Int(port) - 65_536 : Int(port)
    }

    private static let udpServices: [UInt16: String] = [
        53: "DNS", 67: "DHCP", 68: "DHCP", 123: "NTP", 137: "NetBIOS", 161: "SNMP", 443: "QUIC", 500: "IKE", 514: "syslog",
        1900: "SSDP", 2123: "GTP-C", 3478: "STUN", 4500: "IPsec NAT-T", 5353: "mDNS", 5355: "LLMNR",
    ]

    /// GTP-U (3GPP TS 29.281): user data (G-PDU) carries an IP packet after the header and its
    /// extension headers; echo and error messages carry none.
    private mutating func gtpU(_ p: UnsafeRawBufferPointer, depth: Int, tunnel: inout String?) -> TCPSegment? {
        tunnel = tunnel ?? "GTP-U"
        guard p.count >= 8, p[0] >> 5 == 1 else { return skip("UDP packet", "to port 2152 (GTP-U), not of GTP version 1") }
        guard p[1] == 0xFF else { return skip("GTP-U signalling packet", "(echo, error indication, end marker)") }
        var offset = 8
        if p[0] & 0x07 != 0 {
            guard p.count >= 12 else { return skip("GTP-U packet", "too short for a header") }
            var next = p[11]
            offset = 12
            while next != 0 {  // extension headers: a length in 4-byte units, the next type in the last byte
                guard offset < p.count, p[offset] > 0, offset + Int(p[offset]) * 4 <= p.count else {
                    return skip("GTP-U packet", "with a damaged extension header")
                }
                offset += Int(p[offset]) * 4
                next = p[offset - 1]
            }
        }
        return ipByVersion(Self.rest(p, offset), depth: depth, tunnel: &tunnel)
    }
}

/// Finds the IP packet inside a link-layer frame, for the link types captures commonly use.
enum LinkLayer {
    enum Network {
        case ipv4, ipv6
    }

    /// (network protocol, offset of the IP header), or nil for frames that carry no IP.
    static func ipPayload(_ p: UnsafeRawBufferPointer, linkType: Int32) -> (Network, Int)? {
        switch linkType {
        case 1:  // Ethernet
            return ethernet(p, typeOffset: 12)
        case 0, 108:  // BSD NULL (host byte order) and LOOP (network byte order): a 4-byte address family
            guard p.count >= 4 else { return nil }
            let le = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
            let be = UInt32(p[3]) | UInt32(p[2]) << 8 | UInt32(p[1]) << 16 | UInt32(p[0]) << 24
            let family = linkType == 108 ? be : (le < 256 ? le : be)
            switch family {
            case 2: return (.ipv4, 4)
            case 10, 24, 28, 30: return (.ipv6, 4)  // AF_INET6 on Linux, the BSDs, macOS
            default: return nil
            }
        case 12, 14, 101, 228, 229:  // raw IP
            guard let first = p.first else { return nil }
            return first >> 4 == 4 ? (.ipv4, 0) : first >> 4 == 6 ? (.ipv6, 0) : nil
        case 113:  // Linux cooked capture (SLL): protocol at 14, header 16 bytes
            guard p.count >= 16 else { return nil }
            return etherType(UInt16(p[14]) << 8 | UInt16(p[15]), at: 16)
        case 276:  // Linux cooked capture v2 (SLL2): protocol at 0, header 20 bytes
            guard p.count >= 20 else { return nil }
            return etherType(UInt16(p[0]) << 8 | UInt16(p[1]), at: 20)
        default:
            return nil
        }
    }

    private static func ethernet(_ p: UnsafeRawBufferPointer, typeOffset: Int) -> (Network, Int)? {
        var offset = typeOffset
        while offset + 2 <= p.count {
            let type = UInt16(p[offset]) << 8 | UInt16(p[offset + 1])
            if type == 0x8100 || type == 0x88A8 || type == 0x9100 {  // VLAN tags, possibly stacked
                offset += 4
                continue
            }
            return etherType(type, at: offset + 2)
        }
        return nil
    }

    private static func etherType(_ type: UInt16, at offset: Int) -> (Network, Int)? {
        switch type {
        case 0x0800: (.ipv4, offset)
        case 0x86DD: (.ipv6, offset)
        default: nil
        }
    }
}

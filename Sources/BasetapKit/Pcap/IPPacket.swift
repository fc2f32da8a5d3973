/// A TCP segment found in a packet, with the addresses of the IP header around it.
struct TCPSegment {
    var source: Endpoint
    var destination: Endpoint
    var sequence: UInt32
    var acknowledgment: UInt32
    var flags: UInt8
    var payload: [UInt8]

    var syn: Bool { flags & 0x02 != 0 }
    var fin: Bool { flags & 0x01 != 0 }
    var rst: Bool { flags & 0x04 != 0 }
    var ack: Bool { flags & 0x10 != 0 }
}

extension TCPSegment {
    /// The segment in a TCP header and what follows it; nil when the header is damaged.
    init?(_ b: [UInt8], source: [UInt8], destination: [UInt8]) {
        guard b.count >= 20 else { return nil }
        let dataOffset = Int(b[12] >> 4) * 4
        guard dataOffset >= 20, dataOffset <= b.count else { return nil }
        func u32(_ i: Int) -> UInt32 { UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]) }
        self.init(
            source: Endpoint(address: source, port: UInt16(b[0]) << 8 | UInt16(b[1])),
            destination: Endpoint(address: destination, port: UInt16(b[2]) << 8 | UInt16(b[3])),
            sequence: u32(4), acknowledgment: u32(8), flags: b[13], payload: Array(b[dataOffset...]))
    }
}

enum IPVersion {
    case ipv4, ipv6
}

/// What an IP packet carries, fragments put together.
struct IPPayload {
    var protocolNumber: UInt8
    var source: [UInt8]
    var destination: [UInt8]
    var body: [UInt8]
}

/// IPv4 and IPv6 (extension headers included) down to the transport, reassembling IP fragments.
struct IPDecoder {
    /// Fragments waiting for their siblings, by (source, destination, id).
    private var fragments: [FragmentKey: FragmentBuffer] = [:]
    static let maxFragmentBuffers = 4096

    struct FragmentKey: Hashable {
        var source: [UInt8]
        var destination: [UInt8]
        var id: UInt32
    }

    struct FragmentBuffer {
        var pieces: [(offset: Int, bytes: [UInt8])] = []
        var totalLength: Int?
        var headerSource: [UInt8]
        var headerDestination: [UInt8]
        var protocolNumber: UInt8
    }

    enum Result {
        case payload(IPPayload)
        /// A fragment, kept until the rest arrives.
        case pending
        case damaged
    }

    mutating func payload(_ p: UnsafeRawBufferPointer, version: IPVersion) -> Result {
        switch version {
        case .ipv4: return ipv4(p)
        case .ipv6: return ipv6(p)
        }
    }

    private mutating func ipv4(_ p: UnsafeRawBufferPointer) -> Result {
        guard p.count >= 20, p[0] >> 4 == 4 else { return .damaged }
        let headerLength = Int(p[0] & 0x0F) * 4
        let totalLength = Int(p[2]) << 8 | Int(p[3])
        guard headerLength >= 20, totalLength >= headerLength else { return .damaged }
        let end = min(totalLength, p.count)  // Ethernet pads short frames; captures may be cut
        guard end > headerLength else { return .damaged }
        let source = Array(p[12..<16]), destination = Array(p[16..<20])
        let protocolNumber = p[9]
        let fragmentField = Int(p[6]) << 8 | Int(p[7])
        let moreFragments = fragmentField & 0x2000 != 0
        let fragmentOffset = (fragmentField & 0x1FFF) * 8
        let body = Array(p[headerLength..<end])
        if moreFragments || fragmentOffset > 0 {
            let key = FragmentKey(source: source, destination: destination, id: UInt32(p[4]) << 8 | UInt32(p[5]) | UInt32(protocolNumber) << 16)
            guard let whole = addFragment(key, offset: fragmentOffset, bytes: body, last: !moreFragments, source: source, destination: destination, protocolNumber: protocolNumber)
            else { return .pending }
            return .payload(IPPayload(protocolNumber: protocolNumber, source: source, destination: destination, body: whole))
        }
        return .payload(IPPayload(protocolNumber: protocolNumber, source: source, destination: destination, body: body))
    }

    private mutating func ipv6(_ p: UnsafeRawBufferPointer) -> Result {
        guard p.count >= 40, p[0] >> 4 == 6 else { return .damaged }
        let payloadLength = Int(p[4]) << 8 | Int(p[5])
        let end = min(40 + payloadLength, p.count)
        let source = Array(p[8..<24]), destination = Array(p[24..<40])
        var next = p[6]
        var offset = 40
        var fragment: (offset: Int, more: Bool, id: UInt32)?
        while true {
            switch next {
            case 0, 43, 60:  // hop-by-hop, routing, destination options
                guard offset + 8 <= end else { return .damaged }
                next = p[offset]
                offset += (Int(p[offset + 1]) + 1) * 8
            case 51:  // authentication header
                guard offset + 8 <= end else { return .damaged }
                next = p[offset]
                offset += (Int(p[offset + 1]) + 2) * 4
            case 44:  // fragment
                guard offset + 8 <= end else { return .damaged }
                next = p[offset]
                let field = Int(p[offset + 2]) << 8 | Int(p[offset + 3])
                let id = UInt32(p[offset + 4]) << 24 | UInt32(p[offset + 5]) << 16 | UInt32(p[offset + 6]) << 8 | UInt32(p[offset + 7])
                fragment = (field & 0xFFF8, field & 1 != 0, id)
                offset += 8
            default:
                guard offset <= end else { return .damaged }
                let body = Array(p[offset..<end])
                if let fragment, fragment.more || fragment.offset > 0 {
                    let key = FragmentKey(source: source, destination: destination, id: fragment.id)
                    guard let whole = addFragment(key, offset: fragment.offset, bytes: body, last: !fragment.more, source: source, destination: destination, protocolNumber: next)
                    else { return .pending }
                    return .payload(IPPayload(protocolNumber: next, source: source, destination: destination, body: whole))
                }
                return .payload(IPPayload(protocolNumber: next, source: source, destination: destination, body: body))
            }
        }
    }

    private mutating func addFragment(
        _ key: FragmentKey, offset: Int, bytes: [UInt8], last: Bool, source: [UInt8], destination: [UInt8], protocolNumber: UInt8
    ) -> [UInt8]? {
        if fragments[key] == nil {
            if fragments.count >= Self.maxFragmentBuffers { fragments.removeAll() }
            fragments[key] = FragmentBuffer(headerSource: source, headerDestination: destination, protocolNumber: protocolNumber)
        }
        fragments[key]!.pieces.append((offset, bytes))
        if last { fragments[key]!.totalLength = offset + bytes.count }
        guard let total = fragments[key]!.totalLength else { return nil }
        let pieces = fragments[key]!.pieces.sorted { $0.offset < $1.offset }
        var covered = 0
        for piece in pieces where piece.offset <= covered { covered = max(covered, piece.offset + piece.bytes.count) }
        guard covered >= total else { return nil }
        var whole = [UInt8](repeating: 0, count: total)
        for piece in pieces.reversed() {  // first copy wins: write later pieces first, earlier ones over them
            let n = min(piece.bytes.count, total - piece.offset)
            if n > 0 { whole.replaceSubrange(piece.offset..<piece.offset + n, with: piece.bytes[0..<n]) }
        }
        fragments[key] = nil
        return whole
    }
}

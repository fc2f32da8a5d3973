/// Builds IPv4/IPv6 TCP packets for one connection and keeps its sequence numbers, so that a
/// stream of bytes can be written as a capture: the proxy records its plaintext legs this way.
public struct TCPPacketBuilder: Sendable {
    public static let flagFIN: UInt8 = 0x01
    public static let flagSYN: UInt8 = 0x02
    public static let flagRST: UInt8 = 0x04
    public static let flagPSH: UInt8 = 0x08
    public static let flagACK: UInt8 = 0x10

    public let client: Endpoint
    public let server: Endpoint
    /// Next sequence number of each side.
    public private(set) var next: PerDirection<UInt32>
    private var ipID: UInt16 = 1

    public init(client: Endpoint, server: Endpoint, clientISN: UInt32 = 1000, serverISN: UInt32 = 5000) {
        self.client = client
        self.server = server
        next = PerDirection(c2s: clientISN, s2c: serverISN)
    }

    /// SYN, SYN-ACK and ACK.
    public mutating func handshake() -> [[UInt8]] {
        let syn = packet(.c2s, flags: Self.flagSYN, payload: [], sequence: next.c2s)
        next.c2s &+= 1
        let synAck = packet(.s2c, flags: Self.flagSYN | Self.flagACK, payload: [], sequence: next.s2c)
        next.s2c &+= 1
        return [syn, synAck, packet(.c2s, flags: Self.flagACK, payload: [])]
    }

    /// Data in segments of at most `segmentSize` bytes.
    public mutating func data(_ dir: Direction, _ bytes: [UInt8], segmentSize: Int = 65000) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: max(1, segmentSize)).map { start in
            segment(dir, Array(bytes[start..<min(bytes.count, start + segmentSize)]))
        }
    }

    public mutating func segment(_ dir: Direction, _ bytes: [UInt8]) -> [UInt8] {
        let p = packet(dir, flags: Self.flagACK | Self.flagPSH, payload: bytes, sequence: next[dir])
        next[dir] &+= UInt32(truncatingIfNeeded: bytes.count)
        return p
    }

    public mutating func fin(_ dir: Direction) -> [UInt8] {
        let p = packet(dir, flags: Self.flagFIN | Self.flagACK, payload: [], sequence: next[dir])
        next[dir] &+= 1
        return p
    }

    /// A packet with an explicit sequence number (retransmissions, overlaps).
    public mutating func packet(_ dir: Direction, flags: UInt8, payload: [UInt8], sequence: UInt32? = nil) -> [UInt8] {
        let (from, to) = dir == .c2s ? (client, server) : (server, client)
        ipID &+= 1
        return Self.ipPacket(
            from: from, to: to, sequence: sequence ?? next[dir], acknowledgment: flags & Self.flagACK != 0 ? next[dir.opposite] : 0,
            flags: flags, payload: payload, ipID: ipID)
    }

    /// One IPv4 or IPv6 packet carrying one TCP segment.
    public static func ipPacket(
        from: Endpoint, to: Endpoint, sequence: UInt32, acknowledgment: UInt32, flags: UInt8, payload: [UInt8], ipID: UInt16 = 1
    ) -> [UInt8] {
        var tcp: [UInt8] = []
        tcp += [UInt8(from.port >> 8), UInt8(from.port & 0xFF), UInt8(to.port >> 8), UInt8(to.port & 0xFF)]
        tcp += be32(sequence)
        tcp += be32(acknowledgment)
        tcp += [0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]
        tcp += payload
        if from.address.count == 4 {
            let total = 20 + tcp.count
            var ip: [UInt8] = [0x45, 0, UInt8(total >> 8 & 0xFF), UInt8(total & 0xFF), UInt8(ipID >> 8), UInt8(ipID & 0xFF), 0x40, 0, 64, 6, 0, 0]
            ip += from.address + to.address
            let sum = checksum(ip)
            ip[10] = UInt8(sum >> 8)
            ip[11] = UInt8(sum & 0xFF)
            return ip + tcp
        }
        var ip: [UInt8] = [0x60, 0, 0, 0, UInt8(tcp.count >> 8 & 0xFF), UInt8(tcp.count & 0xFF), 6, 64]
        ip += from.address + to.address
        return ip + tcp
    }

    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        for i in stride(from: 0, to: bytes.count, by: 2) {
            sum += UInt32(bytes[i]) << 8 | (i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0)
        }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}

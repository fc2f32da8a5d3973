import Testing
@testable import BasetapKit

@Suite struct IPPacketTests {
    static let a: [UInt8] = [10, 0, 0, 1], b: [UInt8] = [10, 0, 0, 2]
    static let a6: [UInt8] = [0xFD] + [UInt8](repeating: 0, count: 14) + [1], b6: [UInt8] = [0xFD] + [UInt8](repeating: 0, count: 14) + [2]

    /// An IPv4 header (no options unless given) around `body`; `offset` in bytes, a multiple of 8.
    static func ipv4(_ body: [UInt8], id: UInt16 = 7, offset: Int = 0, more: Bool = false, options: [UInt8] = [], padding: Int = 0) -> [UInt8] {
        let header = 20 + options.count
        let total = header + body.count
        let field = (more ? 0x2000 : 0) | offset / 8
        return [UInt8(0x40 | header / 4), 0, UInt8(total >> 8), UInt8(total & 0xFF), UInt8(id >> 8), UInt8(id & 0xFF),
                UInt8(field >> 8), UInt8(field & 0xFF), 64, 6, 0, 0] + a + b + options + body + [UInt8](repeating: 0, count: padding)
    }

    /// An IPv6 header, `extensions` (next header, bytes) chained in order, then `body` as TCP.
    static func ipv6(_ body: [UInt8], extensions: [(UInt8, [UInt8])] = []) -> [UInt8] {
        var chain: [UInt8] = []
        for (i, ext) in extensions.enumerated() {
            var bytes = ext.1
            bytes[0] = i + 1 < extensions.count ? extensions[i + 1].0 : 6
            chain += bytes
        }
        let length = chain.count + body.count
        return [0x60, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xFF), extensions.first?.0 ?? 6, 64] + a6 + b6 + chain + body
    }

    static func fragmentHeader(offset: Int, more: Bool, id: UInt32) -> [UInt8] {
        let field = offset | (more ? 1 : 0)
        return [0, 0, UInt8(field >> 8), UInt8(field & 0xFF), UInt8(id >> 24), UInt8(id >> 16 & 0xFF), UInt8(id >> 8 & 0xFF), UInt8(id & 0xFF)]
    }

    static func decode(_ decoder: inout IPDecoder, _ packet: [UInt8], _ version: IPVersion) -> IPDecoder.Result {
        packet.withUnsafeBytes { decoder.payload($0, version: version) }
    }

    static func body(_ result: IPDecoder.Result) -> [UInt8]? {
        if case .payload(let payload) = result { return payload.body }
        return nil
    }

    static let data = (0..<40).map { UInt8($0) }

    @Test func aWholePacketIsItsBodyWithoutOptionsOrPadding() {
        var decoder = IPDecoder()
        let result = Self.decode(&decoder, Self.ipv4(Self.data, options: [1, 1, 1, 0], padding: 6), .ipv4)
        guard case .payload(let payload) = result else { Issue.record("\(result)"); return }
        #expect(payload.body == Self.data, "options skipped, Ethernet padding cut at the total length")
        #expect(payload.source == Self.a && payload.destination == Self.b && payload.protocolNumber == 6)
    }

    @Test func ipv4FragmentsOutOfOrderComeTogether() {
        var decoder = IPDecoder()
        #expect(Self.body(Self.decode(&decoder, Self.ipv4(Array(Self.data[24...]), offset: 24), .ipv4)) == nil)
        #expect(Self.body(Self.decode(&decoder, Self.ipv4(Array(Self.data[0..<16]), more: true), .ipv4)) == nil)
        // Another datagram between the two halves is its own.
        #expect(Self.body(Self.decode(&decoder, Self.ipv4([9, 9], id: 8), .ipv4)) == [9, 9])
        #expect(Self.body(Self.decode(&decoder, Self.ipv4(Array(Self.data[16..<24]), offset: 16, more: true), .ipv4)) == Self.data)
        // The buffer is gone once whole: the same id later starts afresh.
        #expect(Self.body(Self.decode(&decoder, Self.ipv4(Array(Self.data[24...]), offset: 24), .ipv4)) == nil)
    }

    /// Overlapping fragments: the bytes that came first win, as in the reassembly most stacks do.
    @Test func overlappingFragmentsKeepTheFirstBytes() {
        var decoder = IPDecoder()
        _ = Self.decode(&decoder, Self.ipv4(Array(Self.data[0..<16]), more: true), .ipv4)
        _ = Self.decode(&decoder, Self.ipv4([UInt8](repeating: 0xEE, count: 16), offset: 8, more: true), .ipv4)
        let whole = Self.body(Self.decode(&decoder, Self.ipv4(Array(Self.data[24...]), offset: 24), .ipv4))
        #expect(whole == Array(Self.data[0..<16]) + [UInt8](repeating: 0xEE, count: 8) + Array(Self.data[24...]))
    }

    @Test func ipv6ExtensionHeadersAreWalkedToTheTransport() {
        var decoder = IPDecoder()
        let hopByHop: (UInt8, [UInt8]) = (0, [0, 0, 1, 4, 0, 0, 0, 0])
        let destination: (UInt8, [UInt8]) = (60, [0, 1] + [UInt8](repeating: 0, count: 14))
        let auth: (UInt8, [UInt8]) = (51, [0, 2] + [UInt8](repeating: 0, count: 14))
        let result = Self.decode(&decoder, Self.ipv6(Self.data, extensions: [hopByHop, destination, auth]), .ipv6)
        guard case .payload(let payload) = result else { Issue.record("\(result)"); return }
        #expect(payload.body == Self.data && payload.protocolNumber == 6 && payload.source == Self.a6)
    }

    @Test func ipv6FragmentsComeTogether() {
        var decoder = IPDecoder()
        let second = Self.ipv6(Array(Self.data[16...]), extensions: [(44, Self.fragmentHeader(offset: 16, more: false, id: 0xDEAD_BEEF))])
        let first = Self.ipv6(Array(Self.data[..<16]), extensions: [(44, Self.fragmentHeader(offset: 0, more: true, id: 0xDEAD_BEEF))])
        #expect(Self.body(Self.decode(&decoder, second, .ipv6)) == nil)
        let result = Self.decode(&decoder, first, .ipv6)
        guard case .payload(let payload) = result else { Issue.record("\(result)"); return }
        #expect(payload.body == Self.data && payload.protocolNumber == 6)
        let atomic = Self.ipv6(Self.data, extensions: [(44, Self.fragmentHeader(offset: 0, more: false, id: 1))])
        #expect(Self.body(Self.decode(&decoder, atomic, .ipv6)) == Self.data, "a fragment header with nothing to wait for")
    }

    @Test func damagedHeadersAreSaidSo() {
        var decoder = IPDecoder()
        func damaged(_ packet: [UInt8], _ version: IPVersion) -> Bool {
            if case .damaged = Self.decode(&decoder, packet, version) { return true }
            return false
        }
        #expect(damaged(Array(Self.ipv4(Self.data).prefix(19)), .ipv4), "shorter than a header")
        #expect(damaged(Self.ipv6(Self.data), .ipv4), "version 6 read as 4")
        var shortHeader = Self.ipv4(Self.data)
        shortHeader[0] = 0x44
        #expect(damaged(shortHeader, .ipv4), "a header length under 20")
        var shortTotal = Self.ipv4(Self.data)
        shortTotal[3] = 10
        #expect(damaged(shortTotal, .ipv4), "a total length under the header's")
        #expect(damaged(Self.ipv4([]), .ipv4), "no body")
        #expect(damaged(Array(Self.ipv6(Self.data).prefix(39)), .ipv6))
        let cutExtension = Array(Self.ipv6(Self.data, extensions: [(0, [0, 0, 1, 4, 0, 0, 0, 0])]).prefix(44))
        #expect(damaged(cutExtension, .ipv6), "an extension header cut short")
    }

    @Test func tcpHeadersWithOptionsAndDamagedOffsets() {
        var header: [UInt8] = [0x1F, 0x90, 0xC4, 0x88, 0, 0, 0, 9, 0, 0, 0, 3, 0x60, 0x18, 0xFF, 0xFF, 0, 0, 0, 0]
        let segment = TCPSegment(header + [1, 1, 1, 0] + [0x61, 0x62], source: Self.a, destination: Self.b)
        #expect(segment?.payload == [0x61, 0x62], "24 bytes of header, options skipped")
        #expect(segment?.source.port == 8080 && segment?.destination.port == 50312)
        #expect(segment?.sequence == 9 && segment?.acknowledgment == 3)
        #expect(segment?.ack == true && segment?.syn == false && segment?.fin == false && segment?.rst == false)
        header[12] = 0x40
        #expect(TCPSegment(header, source: Self.a, destination: Self.b) == nil, "a data offset under 20")
        header[12] = 0xF0
        #expect(TCPSegment(header, source: Self.a, destination: Self.b) == nil, "a data offset past the segment")
        #expect(TCPSegment(Array(header.prefix(19)), source: Self.a, destination: Self.b) == nil)
    }
}

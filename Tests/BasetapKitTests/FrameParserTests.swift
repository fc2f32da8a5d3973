import Testing
@testable import BasetapKit

@Suite struct FrameParserTests {
    @Test(arguments: [0, 1, 125, 126, 300, 65535, 65536, 70000])
    func parsesEveryLengthEncodingWholeOrByteByByte(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let masked = WebSocketFrame(opcode: .binary, maskKey: (1, 2, 3, 4), payload: payload)
        let plain = WebSocketFrame(fin: false, rsv: 4, opcode: .text, payload: payload)
        let wire = FrameEncoder.encode(masked) + FrameEncoder.encode(plain)

        var whole = FrameParser()
        whole.append(wire)
        let a = try #require(try whole.next())
        let b = try #require(try whole.next())
        #expect(try whole.next() == nil)
        #expect(a.payload == payload && a.masked && a.opcode == 2 && a.fin)
        #expect(b.payload == payload && !b.masked && b.rsv == 4 && !b.fin)
        #expect(b.offset == a.wireLength)

        var bytewise = FrameParser()
        var frames: [WebSocketFrame] = []
        for byte in wire {
            bytewise.append([byte])
            while let frame = try bytewise.next() { frames.append(frame) }
        }
        #expect(frames == [a, b])
    }

    @Test func refusesFramesPastTheLimitWithoutAllocating() {
        var parser = FrameParser(maxFrameSize: 1000)
        parser.append([0x82, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: FrameParser.Failure.frameTooLarge(length: 0x7FFF_FFFF_FFFF_FFFF, offset: 0)) { try parser.next() }
    }
}

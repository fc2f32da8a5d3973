import CompressNIO
import NIOCore
import Testing
@testable import BasetapKit

@Suite struct MessageAssemblerTests {
    private func rules(_ dir: Direction, _ frames: [WebSocketFrame], deflate: DeflateParameters? = nil, limits: InflateLimits = InflateLimits()) -> [String] {
        var assembler = MessageAssembler(direction: dir, deflate: deflate, limits: limits)
        var found: [String] = []
        for frame in frames {
            for event in assembler.consume(frame) {
                switch event {
                case .violation(let rule, _, _): found.append(rule.id)
                case .message(let opcode, _, let infos, _): found.append("\(CaptureRecord.Kind(opcode).rawValue):\(infos.count)")
                case .control(let opcode, _, _, let code, _, _): found.append("\(CaptureRecord.Kind(opcode).rawValue)\(code.map { ":\($0)" } ?? "")")
                }
            }
        }
        return found
    }

    static let m: (UInt8, UInt8, UInt8, UInt8) = (9, 8, 7, 6)

    private func text(_ s: String, fin: Bool = true, opcode: UInt8 = 1, masked: Bool = true, rsv: UInt8 = 0) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv: rsv, opcode: opcode, maskKey: masked ? Self.m : nil, payload: Array(s.utf8))
    }

    /// A message over the limit is reported once; its remaining fragments continue it, so they are
    /// no `ws.continuation-without-start`, and the next message is assembled as usual.
    @Test func theFragmentsAfterAMessageLimitAreSkippedQuietly() {
        var limits = InflateLimits()
        limits.maxSize = 8
        let frames = [text("0123456", fin: false), text("789", fin: false, opcode: 0), text("abc", fin: false, opcode: 0), text("def", opcode: 0), text("{}")]
        #expect(rules(.c2s, frames, limits: limits) == ["ws.message-limit", "text:1"])
    }

    @Test func assemblesFragmentedMessagesAroundControlFrames() {
        let frames = [
            text("{\"a\":", fin: false), WebSocketFrame(opcode: .ping, maskKey: Self.m, payload: [1]),
            text("1}", fin: true, opcode: 0),
        ]
        #expect(rules(.c2s, frames) == ["ping", "text:2"])
    }

    @Test(arguments: [
        (Direction.c2s, [WebSocketFrame(opcode: .text, payload: Array("x".utf8))], ["ws.unmasked-client-frame", "text:1"]),
        (.s2c, [WebSocketFrame(opcode: .text, maskKey: m, payload: [0x78])], ["ws.masked-server-frame", "text:1"]),
        (.s2c, [WebSocketFrame(rsv: 2, opcode: .binary, payload: [1])], ["ws.rsv-bits", "binary:1"]),
        (.s2c, [WebSocketFrame(opcode: 0x3, payload: [1])], ["ws.reserved-opcode"]),
        (.s2c, [WebSocketFrame(opcode: .ping, payload: [UInt8](repeating: 0, count: 126))], ["ws.control-too-long", "ping"]),
        (.s2c, [WebSocketFrame(fin: false, opcode: .pong, payload: [])], ["ws.control-fragmented", "pong"]),
        (.s2c, [WebSocketFrame(opcode: .continuation, payload: [1])], ["ws.continuation-without-start"]),
        (.s2c, [WebSocketFrame(fin: false, opcode: .text, payload: [0x61]), WebSocketFrame(opcode: .binary, payload: [1])], ["ws.data-inside-fragment", "binary:1"]),
        (.s2c, [WebSocketFrame(opcode: .text, payload: [0x61, 0xFF])], ["ws.invalid-utf8", "text:1"]),
        (.s2c, [WebSocketFrame(opcode: .close, payload: [0x03, 0xED])], ["ws.close-code", "close:1005"]),
        (.s2c, [WebSocketFrame(opcode: .close, payload: [0x03])], ["ws.close-code", "close"]),
        (.s2c, [WebSocketFrame(opcode: .close, payload: [0x03, 0xE8, 0xC3])], ["ws.invalid-utf8", "close:1000"]),
        (.s2c, [WebSocketFrame(opcode: .close, payload: [0x0F, 0xA0])], ["close:4000"]),
        (.s2c, [WebSocketFrame(opcode: .close, payload: []), WebSocketFrame(opcode: .text, payload: [0x61])], ["close", "ws.data-after-close", "text:1"]),
    ])
    func reportsEachRFC6455Breach(dir: Direction, frames: [WebSocketFrame], expected: [String]) {
        #expect(rules(dir, frames) == expected)
    }

    /// Lengths in a longer field than needed, as zeek's oversized-close-frame trace has one: the
    /// parser reads them, the assembler names them, and a shortest-form frame is not flagged.
    @Test(arguments: [
        ([0x82, 126, 0, 5] + [UInt8](repeating: 7, count: 5), "16-bit"),
        ([0x82, 127, 0, 0, 0, 0, 0, 0, 0, 200] + [UInt8](repeating: 7, count: 200), "64-bit"),
        ([0x82, 127, 0, 0, 0, 0, 0, 0, 0, 3] + [UInt8](repeating: 7, count: 3), "64-bit"),
    ])
    func aLengthInALongerFieldThanNeededIsABreach(wire: [UInt8], field: String) throws {
        var parser = FrameParser()
        parser.append(wire)
        let frame = try #require(try parser.next())
        var assembler = MessageAssembler(direction: .s2c, deflate: nil, limits: InflateLimits())
        let found = assembler.consume(frame).compactMap { event -> String? in
            if case .violation(let rule, let message, _) = event { return "\(rule.id): \(message)" }
            return nil
        }
        #expect(found == ["ws.length-encoding: binary frame of \(frame.payload.count) bytes has its length in a \(field) field (RFC 6455 §5.2: the shortest form)"])
        var shortest = FrameParser()
        shortest.append(FrameEncoder.encode(WebSocketFrame(opcode: .binary, payload: frame.payload)))
        #expect(rules(.s2c, [try #require(try shortest.next())]) == ["binary:1"])
    }

    @Test func rsv1IsCompressionOnlyWhenDeflateWasNegotiated() throws {
        let compressed = try deflate(["{\"id\":\"1\"}"], takeover: true)[0]
        let frame = WebSocketFrame(rsv: 4, opcode: .text, payload: compressed)
        #expect(rules(.s2c, [frame], deflate: DeflateParameters()) == ["text:1"])
        #expect(rules(.s2c, [frame]) == ["ws.rsv-bits", "ws.invalid-utf8", "text:1"])
        let continuation = [WebSocketFrame(fin: false, rsv: 4, opcode: .text, payload: []), WebSocketFrame(rsv: 4, opcode: .continuation, payload: [])]
        #expect(rules(.s2c, continuation, deflate: DeflateParameters()).contains("ws.rsv-bits"))
    }
}

/// Raw-deflate messages as a permessage-deflate sender makes them (sync flush, tail stripped).
func deflate(_ messages: [String], takeover: Bool) throws -> [[UInt8]] {
    let compressor = try ZlibCompressor(algorithm: .deflate)
    return try messages.map { message in
        if !takeover { try compressor.reset() }
        var input = ByteBuffer(string: message)
        var output = ByteBuffer()
        output.reserveCapacity(compressor.maxSize(from: input) + 64)
        try compressor.deflate(from: &input, to: &output, flush: .sync)
        var bytes = output.readBytes(length: output.readableBytes)!
        if bytes.suffix(4) == [0, 0, 0xFF, 0xFF] { bytes.removeLast(4) }
        return bytes
    }
}

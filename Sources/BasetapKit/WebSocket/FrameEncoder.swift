/// Writes frames to wire bytes: the other half of `FrameParser`, used by replay, fuzz and tests.
/// It writes exactly what it is asked to, including frames RFC 6455 forbids, because fuzzing
/// needs those.
public enum FrameEncoder {
    public static func encode(_ frame: WebSocketFrame) -> [UInt8] {
        var out: [UInt8] = []
        encode(frame, into: &out)
        return out
    }

    public static func encode(_ frame: WebSocketFrame, into out: inout [UInt8]) {
        out.append((frame.fin ? 0x80 : 0) | (frame.rsv & 0x7) << 4 | (frame.opcode & 0x0F))
        let maskBit: UInt8 = frame.maskKey == nil ? 0 : 0x80
        let n = frame.payload.count
        if n < 126 {
            out.append(maskBit | UInt8(n))
        } else if n <= 0xFFFF {
            out.append(maskBit | 126)
            out.append(UInt8(n >> 8))
            out.append(UInt8(n & 0xFF))
        } else {
            out.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((UInt64(n) >> UInt64(shift)) & 0xFF)) }
        }
        guard let m = frame.maskKey else {
            out.append(contentsOf: frame.payload)
            return
        }
        let key = [m.0, m.1, m.2, m.3]
        out.append(contentsOf: key)
        for (k, b) in frame.payload.enumerated() { out.append(b ^ key[k & 3]) }
    }

    /// A random masking key, as a client must use.
    public static func randomMask<G: RandomNumberGenerator>(using generator: inout G) -> (UInt8, UInt8, UInt8, UInt8) {
        let v = UInt32.random(in: .min ... .max, using: &generator)
        return (UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF))
    }
}

/// RFC 6455 §5.2 opcodes.
public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    /// Control frames are 0x8-0xF, including the reserved ones.
    public static func isControl(_ raw: UInt8) -> Bool { raw & 0x8 != 0 }
}

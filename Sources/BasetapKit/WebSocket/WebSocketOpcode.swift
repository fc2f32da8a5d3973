/// RFC 6455 §5.2 opcodes.
public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    /// How messages name a frame of this opcode: data in lower case, control frames as RFC 6455 names them.
    public var name: String {
        switch self {
        case .continuation: "continuation"
        case .text: "text"
        case .binary: "binary"
        case .close: "Close"
        case .ping: "Ping"
        case .pong: "Pong"
        }
    }

    /// Control frames are 0x8-0xF, including the reserved ones.
    public static func isControl(_ raw: UInt8) -> Bool { raw & 0x8 != 0 }
}

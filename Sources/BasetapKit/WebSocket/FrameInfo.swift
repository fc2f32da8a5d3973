/// How one frame of a message crossed the wire: what a capture keeps of it besides the payload.
public struct FrameInfo: Sendable, Equatable {
    public var fin: Bool
    public var opcode: UInt8
    public var rsv: UInt8
    public var length: Int
    public var masked: Bool

    public init(fin: Bool, opcode: UInt8, rsv: UInt8, length: Int, masked: Bool) {
        self.fin = fin
        self.opcode = opcode
        self.rsv = rsv
        self.length = length
        self.masked = masked
    }
}

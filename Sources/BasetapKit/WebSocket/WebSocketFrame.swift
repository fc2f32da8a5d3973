/// One frame as it crossed the wire, payload unmasked.
public struct WebSocketFrame: Sendable, Equatable {
    public var fin: Bool
    /// RSV1-RSV3 as a 3-bit value (RSV1 = 4).
    public var rsv: UInt8
    /// The raw opcode, reserved values included: the inspector reports them rather than refusing them.
    public var opcode: UInt8
    public var maskKey: (UInt8, UInt8, UInt8, UInt8)?
    public var payload: [UInt8]
    /// Offset of the frame's first byte in its direction's byte stream.
    public var offset: Int
    /// Header plus payload bytes on the wire.
    public var wireLength: Int

    public var masked: Bool { maskKey != nil }
    public var isControl: Bool { WebSocketOpcode.isControl(opcode) }

    public init(fin: Bool = true, rsv: UInt8 = 0, opcode: UInt8, maskKey: (UInt8, UInt8, UInt8, UInt8)? = nil, payload: [UInt8], offset: Int = 0) {
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.maskKey = maskKey
        self.payload = payload
        self.offset = offset
        wireLength = payload.count + 2 + (payload.count > 65535 ? 8 : payload.count > 125 ? 2 : 0) + (maskKey == nil ? 0 : 4)
    }

    public init(fin: Bool = true, rsv: UInt8 = 0, opcode: WebSocketOpcode, maskKey: (UInt8, UInt8, UInt8, UInt8)? = nil, payload: [UInt8], offset: Int = 0) {
        self.init(fin: fin, rsv: rsv, opcode: opcode.rawValue, maskKey: maskKey, payload: payload, offset: offset)
    }

    public static func == (a: WebSocketFrame, b: WebSocketFrame) -> Bool {
        a.fin == b.fin && a.rsv == b.rsv && a.opcode == b.opcode && a.payload == b.payload && a.offset == b.offset
            && a.wireLength == b.wireLength && a.maskKey.map { [$0.0, $0.1, $0.2, $0.3] } == b.maskKey.map { [$0.0, $0.1, $0.2, $0.3] }
    }

    /// The frame's line in a capture record's `frames`.
    public var info: FrameInfo {
        FrameInfo(fin: fin, opcode: opcode, rsv: rsv, length: payload.count, masked: masked)
    }
}

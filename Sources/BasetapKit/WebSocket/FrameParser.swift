/// An incremental RFC 6455 frame parser for one direction of a connection: bytes go in as they
/// arrive (TCP segments, socket reads), complete frames come out. Partial input is kept and never
/// parsed twice: the parser remembers how far it got (the state), as swift-nio's decoder does.
///
/// It reads what is on the wire without judging it: masking, RSV bits and reserved opcodes are
/// reported by `MessageAssembler`, which knows the direction and the negotiated extensions.
public struct FrameParser: Sendable {
    public static let defaultMaxFrameSize = 64 << 20

    enum State: Sendable {
        /// Waiting for the two fixed header bytes.
        case header
        /// The header is known; waiting for the payload length words and the mask.
        case extendedHeader(first: UInt8, second: UInt8, needed: Int)
        /// Waiting for `length` payload bytes.
        case payload(Header)
        /// A frame over the size limit: the stream cannot be followed past it.
        case failed
    }

    struct Header: Sendable {
        var fin: Bool
        var rsv: UInt8
        var opcode: UInt8
        var mask: (UInt8, UInt8, UInt8, UInt8)?
        var length: Int
        var headerLength: Int
        var offset: Int
    }

    public enum Failure: Error, Sendable, Equatable {
        case frameTooLarge(length: UInt64, offset: Int)
    }

    public let maxFrameSize: Int
    private var state = State.header
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Stream offset of `buffer[readIndex]`.
    public private(set) var streamOffset = 0

    public init(maxFrameSize: Int = FrameParser.defaultMaxFrameSize) {
        self.maxFrameSize = maxFrameSize
    }

    /// Bytes received but not yet part of a complete frame.
    public var bufferedBytes: Int { buffer.count - readIndex }

    public mutating func append<C: Collection<UInt8>>(_ bytes: C) {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next() throws(Failure) -> WebSocketFrame? {
        while true {
            let available = buffer.count - readIndex
            switch state {
            case .failed:
                return nil
            case .header:
                guard available >= 2 else { return nil }
                let first = buffer[readIndex], second = buffer[readIndex + 1]
                let lengthBytes = second & 0x7F == 126 ? 2 : second & 0x7F == 127 ? 8 : 0
                state = .extendedHeader(first: first, second: second, needed: 2 + lengthBytes + (second & 0x80 != 0 ? 4 : 0))
            case .extendedHeader(let first, let second, let needed):
                guard available >= needed else { return nil }
                var length = UInt64(second & 0x7F)
                var i = readIndex + 2
                if length == 126 {
                    length = UInt64(buffer[i]) << 8 | UInt64(buffer[i + 1])
                    i += 2
                } else if length == 127 {
                    length = 0
                    for k in 0..<8 { length = length << 8 | UInt64(buffer[i + k]) }
                    i += 8
                }
                var mask: (UInt8, UInt8, UInt8, UInt8)?
                if second & 0x80 != 0 {
                    mask = (buffer[i], buffer[i + 1], buffer[i + 2], buffer[i + 3])
                }
                guard length <= UInt64(maxFrameSize) else {
                    state = .failed
                    throw Failure.frameTooLarge(length: length, offset: streamOffset)
                }
                state = .payload(Header(
                    fin: first & 0x80 != 0, rsv: (first >> 4) & 0x7, opcode: first & 0x0F, mask: mask,
                    length: Int(length), headerLength: needed, offset: streamOffset))
            case .payload(let header):
                guard available >= header.headerLength + header.length else { return nil }
                let start = readIndex + header.headerLength
                var payload = Array(buffer[start..<start + header.length])
                if let m = header.mask { Self.unmask(&payload, m) }
                let total = header.headerLength + header.length
                readIndex += total
                streamOffset += total
                state = .header
                var frame = WebSocketFrame(
                    fin: header.fin, rsv: header.rsv, opcode: header.opcode, maskKey: header.mask, payload: payload,
                    offset: header.offset)
                frame.wireLength = total
                return frame
            }
        }
    }

    /// XORs the masking key over the payload, eight bytes at a time (the key repeats every four).
    static func unmask(_ payload: inout [UInt8], _ m: (UInt8, UInt8, UInt8, UInt8)) {
        let key32 = UInt32(m.0) | UInt32(m.1) << 8 | UInt32(m.2) << 16 | UInt32(m.3) << 24
        let key64 = UInt64(key32) | UInt64(key32) << 32
        let key = [m.0, m.1, m.2, m.3]
        payload.withUnsafeMutableBytes { bytes in
            var k = 0
            while k + 8 <= bytes.count {
                let word = bytes.loadUnaligned(fromByteOffset: k, as: UInt64.self) ^ key64.littleEndian
                bytes.storeBytes(of: word, toByteOffset: k, as: UInt64.self)
                k += 8
            }
            while k < bytes.count {
                bytes[k] ^= key[k & 3]
                k += 1
            }
        }
    }
}

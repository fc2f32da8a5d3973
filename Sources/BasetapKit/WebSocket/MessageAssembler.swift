/// Turns one direction's frames into messages and control events, and says where RFC 6455 is
/// broken. It decides; whoever feeds it (the pcap decoder, the proxy's tap, replay) acts on the
/// events it returns.
public struct MessageAssembler {
    public enum Event {
        /// A text or binary message, whole.
        case message(opcode: WebSocketOpcode, payload: [UInt8], frames: [FrameInfo], offset: Int)
        /// A Close, Ping or Pong.
        case control(opcode: WebSocketOpcode, payload: [UInt8], frame: FrameInfo, code: Int?, reason: String?, offset: Int)
        case violation(Rule, message: String, offset: Int)
    }

    public let direction: Direction
    public let maxMessageSize: Int
    public let maxFragments: Int
    private let inflater: MessageInflater?
    private var fragments: [UInt8] = []
    private var fragmentFrames: [FrameInfo] = []
    private var fragmentOpcode: UInt8?
    private var fragmentCompressed = false
    private var fragmentOffset = 0
    private var closeSent = false
    /// A message over the size limit was dropped: its remaining fragments are skipped until its FIN
    /// (they continue a message, so they are no `ws.continuation-without-start`).
    private var discarding = false

    public init(direction: Direction, deflate: DeflateParameters?, limits: InflateLimits = InflateLimits(), inflaters: InflaterBudget? = nil) {
        self.direction = direction
        maxMessageSize = limits.maxSize
        maxFragments = limits.maxFragments
        inflater = deflate.map { MessageInflater(noContextTakeover: $0.noContextTakeover(direction), limits: limits, budget: inflaters) }
    }

    /// A data message has begun and not ended: a frame boundary here is inside it.
    public var isInsideMessage: Bool { fragmentOpcode != nil || discarding }

    /// What `ws.invalid-utf8` says of a text message, wherever it is found.
    static func invalidUTF8(at byte: Int) -> String { "text message is not valid UTF-8 (byte \(byte))" }

    public mutating func consume(_ frame: WebSocketFrame) -> [Event] {
        var events: [Event] = []
        func violation(_ rule: Rule, _ message: String) {
            events.append(.violation(rule, message: message, offset: frame.offset))
        }
        if closeSent {
            violation(.wsDataAfterClose, "\(Self.name(frame.opcode)) frame after this side's Close frame")
        }
        if direction == .c2s && !frame.masked {
            violation(.wsUnmaskedClientFrame, "client \(Self.name(frame.opcode)) frame is not masked")
        } else if direction == .s2c && frame.masked {
            violation(.wsMaskedServerFrame, "server \(Self.name(frame.opcode)) frame is masked")
        }
        let allowedRSV: UInt8 = inflater != nil && !frame.isControl && frame.opcode != 0 ? 4 : 0
        if frame.rsv & ~allowedRSV != 0 {
            let why = inflater == nil ? "no extension was negotiated" : "only RSV1 on a message's first frame means compressed"
            violation(.wsRSVBits, "RSV bits \(Self.rsvText(frame.rsv)) set on a \(Self.name(frame.opcode)) frame; \(why)")
        }
        let shortest = WebSocketFrame(opcode: frame.opcode, maskKey: frame.maskKey, payload: frame.payload).wireLength
        if frame.wireLength > shortest {
            let field = frame.wireLength - frame.payload.count - (frame.masked ? 4 : 0) - 2 == 8 ? "64-bit" : "16-bit"
            violation(.wsLengthEncoding, "\(Self.name(frame.opcode)) frame of \(frame.payload.count) bytes has its length in a \(field) field (RFC 6455 §5.2: the shortest form)")
        }
        switch WebSocketOpcode(rawValue: frame.opcode) {
        case .close, .ping, .pong:
            if frame.payload.count > 125 {
                violation(.wsControlTooLong, "\(Self.name(frame.opcode)) frame carries \(frame.payload.count) bytes (at most 125)")
            }
            if !frame.fin { violation(.wsControlFragmented, "\(Self.name(frame.opcode)) frame is fragmented (FIN not set)") }
            events.append(control(frame, &events))
        case .continuation:
            if discarding {
                discarding = !frame.fin
                return events
            }
            guard fragmentOpcode != nil else {
                violation(.wsContinuationWithoutStart, "continuation frame with no message to continue (\(frame.payload.count) bytes dropped)")
                return events
            }
            appendFragment(frame, &events)
        case .text, .binary:
            discarding = false
            if fragmentOpcode != nil {
                violation(
                    .wsDataInsideFragment,
                    "new \(Self.name(frame.opcode)) frame while a fragmented message is unfinished (\(fragments.count) bytes of it dropped)")
            }
            fragments.removeAll(keepingCapacity: true)
            fragmentFrames.removeAll()
            fragmentOpcode = frame.opcode
            fragmentCompressed = inflater != nil && frame.rsv & 4 != 0
            fragmentOffset = frame.offset
            appendFragment(frame, &events)
        case nil:
            violation(.wsReservedOpcode, "reserved opcode 0x\(String(frame.opcode, radix: 16, uppercase: true)) (\(frame.payload.count) bytes not interpreted)")
        }
        return events
    }

    private mutating func appendFragment(_ frame: WebSocketFrame, _ events: inout [Event]) {
        // A message in one frame (the usual case) is its frame's payload: no copy through `fragments`.
        let whole = frame.fin && fragmentFrames.isEmpty && frame.payload.count <= maxMessageSize
        if !whole { fragments.append(contentsOf: frame.payload) }
        fragmentFrames.append(frame.info)
        let tooMany = fragmentFrames.count > maxFragments
        if fragments.count > maxMessageSize || tooMany {
            events.append(tooMany
                ? .violation(.wsFragmentLimit, message: "message split into more than \(maxFragments) frames; the rest of it is skipped", offset: frame.offset)
                : .violation(.wsMessageLimit, message: "message exceeds \(maxMessageSize) bytes; dropped", offset: frame.offset))
            fragmentOpcode = nil
            fragments.removeAll()
            fragmentFrames.removeAll()
            discarding = !frame.fin
            return
        }
        guard frame.fin, let opcode = fragmentOpcode else { return }
        var payload = whole ? frame.payload : fragments
        let kind: WebSocketOpcode = opcode == WebSocketOpcode.text.rawValue ? .text : .binary
        if fragmentCompressed, let inflater {
            do {
                payload = try inflater.inflate(payload)
            } catch {
                let (rule, why): (Rule, String) = switch error {
                case .tooLarge(let limit): (.wsInflateLimit, "inflates to more than \(limit) bytes")
                case .ratio(let limit): (.wsInflateLimit, "inflates more than \(limit) times its compressed size")
                case .corrupt: (.wsInflateError, "is not valid deflate data")
                case .broken: (.wsInflateError, "cannot be inflated after an earlier inflate failure in this direction")
                }
                events.append(.violation(rule, message: "compressed \(Self.name(kind.rawValue)) message of \(whole ? frame.payload.count : fragments.count) bytes \(why)", offset: fragmentOffset))
                fragmentOpcode = nil
                return
            }
        }
        if kind == .text, let bad = payload.withUnsafeBytes({ UTF8Scan.firstInvalid($0) }) {
            events.append(.violation(.wsInvalidUTF8, message: Self.invalidUTF8(at: bad), offset: fragmentOffset))
        }
        events.append(.message(opcode: kind, payload: payload, frames: fragmentFrames, offset: fragmentOffset))
        fragmentOpcode = nil
        fragments.removeAll(keepingCapacity: true)
        fragmentFrames.removeAll()
    }

    private mutating func control(_ frame: WebSocketFrame, _ events: inout [Event]) -> Event {
        guard frame.opcode == WebSocketOpcode.close.rawValue else {
            return .control(opcode: frame.opcode == WebSocketOpcode.ping.rawValue ? .ping : .pong, payload: frame.payload, frame: frame.info, code: nil, reason: nil, offset: frame.offset)
        }
        closeSent = true
        var code: Int?
        var reason: String?
        if frame.payload.count == 1 {
            events.append(.violation(.wsCloseCode, message: "Close frame with a 1-byte body (a code takes 2)", offset: frame.offset))
        } else if frame.payload.count >= 2 {
            let value = Int(frame.payload[0]) << 8 | Int(frame.payload[1])
            code = value
            if !CloseCode.isValidOnWire(value) {
                events.append(.violation(.wsCloseCode, message: "close code \(value) may not be sent", offset: frame.offset))
            }
            let reasonBytes = Array(frame.payload[2...])
            if let bad = reasonBytes.withUnsafeBytes({ UTF8Scan.firstInvalid($0) }) {
                events.append(.violation(.wsInvalidUTF8, message: "close reason is not valid UTF-8 (byte \(bad + 2))", offset: frame.offset))
            }
            reason = String(decoding: reasonBytes, as: UTF8.self)
        }
        return .control(opcode: .close, payload: frame.payload, frame: frame.info, code: code, reason: reason, offset: frame.offset)
    }

    static func name(_ opcode: UInt8) -> String {
        WebSocketOpcode(rawValue: opcode)?.name ?? "opcode-0x\(String(opcode, radix: 16, uppercase: true))"
    }

    static func rsvText(_ rsv: UInt8) -> String {
        [(4, "RSV1"), (2, "RSV2"), (1, "RSV3")].filter { rsv & UInt8($0.0) != 0 }.map(\.1).joined(separator: "+")
    }
}

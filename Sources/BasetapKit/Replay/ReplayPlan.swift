/// What to send on one connection of a replay, taken from a recorded session (or made by the fuzzer).
public struct ReplayConnection: Sendable {
    /// The id of the liveness probe a fuzz case sends last: an unmutated request whose answer shows
    /// the server still works after the mutations (no answer is a hang). Replay expects its answer.
    public static let probeID = "basetap-probe"

    public enum Action: Sendable, Equatable {
        case message(opcode: UInt8, payload: [UInt8])
        case ping([UInt8])
        case close(code: Int?, reason: String?)
        /// Bytes sent as they are: frames the fuzzer built (fragmented, RSV bits, bad opcodes…).
        case raw([UInt8])
        /// TCP closed at once, without a Close frame (churn cases).
        case disconnect
    }

    public struct Step: Sendable {
        /// A data message, as sent whole or as raw frames.
        public var isMessage: Bool {
            switch action {
            case .message, .raw: true
            case .ping, .close, .disconnect: false
            }
        }

        /// The bytes a client sends for this step: masked frames (or the raw bytes as they are).
        public func wireBytes<G: RandomNumberGenerator>(using generator: inout G) -> [UInt8] {
            func frame(_ opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
                FrameEncoder.encode(WebSocketFrame(opcode: opcode, maskKey: FrameEncoder.randomMask(using: &generator), payload: payload))
            }
            switch action {
            case .message(let opcode, let payload): return frame(opcode, payload)
            case .ping(let payload): return frame(9, payload)
            case .raw(let bytes): return bytes
            case .disconnect: return []
            case .close(let code, let reason):
                guard let code else { return frame(8, []) }
                return frame(8, CloseCode.payload(code, reason ?? ""))
            }
        }

        public var action: Action
        /// Nanoseconds after the connection's first step, as recorded.
        public var at: Int64
        /// The request's `id` when it is a JSON object with a string id.
        public var id: String?
        public var mutation: CaptureRecord.Mutation?

        public init(action: Action, at: Int64 = 0, id: String? = nil, mutation: CaptureRecord.Mutation? = nil) {
            self.action = action
            self.at = at
            self.id = id
            self.mutation = mutation
        }
    }

    public var conn: String
    /// Request target: path and query.
    public var url: String
    /// The recorded request's headers that describe the client (subprotocols, extensions, auth,
    /// cookies, origin…); connection-specific ones are made anew.
    public var headers: [CaptureRecord.Header]
    public var steps: [Step]
    /// The recorded session of this connection, to compare the new one with.
    public var recorded: [CaptureRecord]
    /// Request ids to wait for answers to: those the server answered in the recording.
    public var expected: Set<String>
    /// The upgrade request to send exactly as it is, instead of one made from `url` and `headers`.
    public var rawHead: [UInt8]?
    /// The failure this session is a fuzz finding of, which replaying it checks for.
    public var finding: CaptureRecord.FindingMark?

    public init(conn: String, url: String, headers: [CaptureRecord.Header], steps: [Step], recorded: [CaptureRecord]) {
        self.conn = conn
        self.url = url
        self.headers = headers
        self.steps = steps
        self.recorded = recorded
        expected = Set(recorded.lazy.filter { $0.dir == .s2c && $0.kind == .text }.compactMap { Envelope.peek($0.payload)?.id })
    }

    /// The upgrade request for this connection: the recorded headers with Host and the key made anew.
    func requestHead(target: ProxyTarget, path: String?, extra: [CaptureRecord.Header], key: String) -> String {
        var head = "GET \(path ?? url) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        head += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        let overridden = Set(extra.map { $0.name.lowercased() })
        for header in headers where !overridden.contains(header.name.lowercased()) { head += "\(header.name): \(header.value)\r\n" }
        for header in extra { head += "\(header.name): \(header.value)\r\n" }
        return head + "\r\n"
    }

    /// Headers made per connection (or by the HTTP layer), never copied from a recording.
    static let regenerated: Set<String> = [
        "host", "connection", "upgrade", "sec-websocket-key", "sec-websocket-version", "sec-websocket-accept",
        "content-length", "transfer-encoding", "keep-alive", "te", "trailer", "proxy-connection", "proxy-authorization",
    ]

    /// One plan per recorded connection that has an `open` record, in the order they opened.
    /// Recorded pongs are left out: the replaying client answers the server's pings itself.
    public static func plan(_ records: [CaptureRecord], only conns: Set<String>? = nil) -> [ReplayConnection] {
        var order: [String] = []
        var byConn: [String: [CaptureRecord]] = [:]
        for record in records where conns?.contains(record.conn) ?? true {
            if byConn[record.conn] == nil { order.append(record.conn) }
            byConn[record.conn, default: []].append(record)
        }
        return order.compactMap { conn in
            let recorded = byConn[conn]!
            guard let open = recorded.first(where: { $0.kind == .open }) else { return nil }
            let start = recorded.lazy.filter { $0.dir == .c2s }.compactMap { CaptureTime.nanoseconds($0.ts) }.first ?? 0
            var steps: [Step] = []
            var serverClosed = false
            for record in recorded where record.dir != nil {
                guard record.dir == .c2s else {
                    serverClosed = serverClosed || record.kind == .close
                    continue
                }
                // A Close after the server's answers it: replay answers the new server's Close itself.
                if serverClosed && record.kind == .close { continue }
                let at = max(0, (CaptureTime.nanoseconds(record.ts) ?? start) - start)
                if record.raw {
                    steps.append(Step(action: .raw(record.payload), at: at, mutation: record.mutation))
                    continue
                }
                switch record.kind {
                case .text, .binary:
                    let opcode: UInt8 = record.kind == .text ? 1 : 2
                    let action = framed(record) ?? .message(opcode: opcode, payload: record.payload)
                    steps.append(Step(action: action, at: at, id: Envelope.id(of: record), mutation: record.mutation))
                case .ping:
                    steps.append(Step(action: .ping(record.payload), at: at))
                case .close:
                    steps.append(Step(action: .close(code: record.code, reason: record.reason), at: at))
                default:
                    continue
                }
            }
            // A client that dropped TCP without a Close (a churn case) does so again.
            if let end = recorded.last(where: { $0.kind == .end }), end.error == WebSocketTap.dropped(by: .c2s) {
                steps.append(Step(action: .disconnect, at: steps.last?.at ?? 0))
            }
            let headers = (open.headers ?? []).filter { !regenerated.contains($0.name.lowercased()) }
            var plan = ReplayConnection(conn: conn, url: open.url ?? "/", headers: headers, steps: steps, recorded: recorded)
            plan.rawHead = open.request.map { Array($0.utf8) }
            plan.finding = open.finding
            // A fuzz finding's probe is waited for as the fuzzer did, answered or not: that is what reproduces a hang or a drop.
            if steps.contains(where: { $0.id == ReplayConnection.probeID }) { plan.expected.insert(ReplayConnection.probeID) }
            return plan
        }
    }

    /// The records of what this plan sends: the open, the client's steps and the end. A capture
    /// then holds a connection that was never recorded (the many connections of a churn case).
    func clientRecords() -> [CaptureRecord] {
        let ts = CaptureTime.now()
        var open = CaptureRecord(ts: ts, conn: conn, kind: .open)
        open.url = url
        open.headers = headers
        open.request = rawHead.map { String(decoding: $0, as: UTF8.self) }
        var records = [open]
        var end = CaptureRecord(ts: ts, conn: conn, kind: .end)
        for step in steps {
            var record: CaptureRecord
            switch step.action {
            case .message(let opcode, let payload):
                record = CaptureRecord(ts: ts, conn: conn, dir: .c2s, kind: opcode == WebSocketOpcode.text.rawValue ? .text : .binary, payload: payload)
            case .raw(let bytes):
                record = CaptureRecord(ts: ts, conn: conn, dir: .c2s, kind: .binary, payload: bytes)
                record.raw = true
            case .ping(let payload):
                record = CaptureRecord(ts: ts, conn: conn, dir: .c2s, kind: .ping, payload: payload)
            case .close(let code, let reason):
                record = CaptureRecord(ts: ts, conn: conn, dir: .c2s, kind: .close)
                record.code = code
                record.reason = reason
            case .disconnect:
                end.error = WebSocketTap.dropped(by: .c2s)
                continue
            }
            record.mutation = step.mutation
            records.append(record)
        }
        return records + [end]
    }

    /// The message's recorded frames rebuilt (fragments, RSV bits, opcodes) when they were unusual
    /// and the payload was sent as is (not compressed): frame-level findings then replay as found.
    static func framed(_ record: CaptureRecord) -> Action? {
        guard let frames = record.frames, frames.reduce(0, { $0 + $1.length }) == record.payload.count,
            frames.count > 1 || frames.contains(where: { $0.rsv != 0 || $0.opcode != (record.kind == .text ? 1 : 2) })
        else { return nil }
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        var offset = 0
        for frame in frames {
            let payload = Array(record.payload[offset..<(offset + frame.length)])
            offset += frame.length
            let mask = frame.masked ? FrameEncoder.randomMask(using: &generator) : nil
            bytes += FrameEncoder.encode(WebSocketFrame(fin: frame.fin, rsv: frame.rsv, opcode: frame.opcode, maskKey: mask, payload: payload))
        }
        return .raw(bytes)
    }
}

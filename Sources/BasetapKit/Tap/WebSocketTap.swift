/// Follows one TCP connection from its HTTP upgrade through its WebSocket frames, turning bytes
/// into capture records. Bytes in, records and findings out: the same path whether they come from
/// a pcap's reassembled streams or from anywhere else that has both directions' bytes.
final class WebSocketTap {
    enum Phase {
        /// Reading the upgrade request and response.
        case handshake
        case webSocket
        /// Not (or no longer) followed: TLS, plain HTTP, a broken stream.
        case ignored
    }

    let conn: String
    private(set) var client: Endpoint
    private(set) var server: Endpoint
    private(set) var phase = Phase.handshake
    private let limits: InflateLimits
    private let maxFrameSize: Int
    private var request: HTTPHeadReader
    private var response: HTTPHeadReader
    /// Requests not answered yet, oldest first.
    private var asked: [HTTPHead] = []
    /// The newest request asks for the upgrade: what the client sends after it waits in `requestRest`.
    private var upgradeAsked = false
    /// The first ordinary request's method and target ("GET /health"), for the proxy to name it.
    private(set) var firstPlainRequest: String?
    private var requestBody: HTTPBodySkipper?
    private var responseBody: HTTPBodySkipper?
    private var requestRest: [UInt8] = []
    /// Server bytes not read yet: held while there is no request for them to answer.
    private var responseRest: [UInt8] = []
    private var parsers: PerDirection<FrameParser>
    private var assemblers: PerDirection<MessageAssembler>
    /// Directions that can no longer be followed (after a gap or an oversized frame).
    private var lost = PerDirection(repeating: false)
    /// Close frames seen, per direction: with none at all, a connection that ends was dropped.
    private var closed = PerDirection(repeating: false)
    private(set) var opened = false
    /// permessage-deflate as the upgrade negotiated it.
    private(set) var deflate: DeflateParameters?
    private(set) var ended = false
    var summary = DecodeSummary()
    /// Bytes given to `data` so far, per direction, and where in them the frames begin.
    private var fed = PerDirection(repeating: 0)
    private var frameStart = PerDirection(repeating: 0)
    /// Called with a direction and a stream offset (counted in the bytes given to `data`) before
    /// which everything is complete: the end of the upgrade heads, and every frame end outside an
    /// unfinished message. The proxy releases held bytes at these points.
    var onBoundary: ((Direction, Int) -> Void)?

    /// Shared by the taps of one decode to bound the zlib states kept awake.
    private let inflaters: InflaterBudget?

    init(conn: String, client: Endpoint, server: Endpoint, limits: InflateLimits, maxFrameSize: Int,
         maxHeadSize: Int = HTTPHeadReader.defaultMaxHeadSize, inflaters: InflaterBudget? = nil) {
        self.inflaters = inflaters
        self.conn = conn
        request = HTTPHeadReader(maxHeadSize: maxHeadSize)
        response = HTTPHeadReader(maxHeadSize: maxHeadSize)
        self.client = client
        self.server = server
        self.limits = limits
        self.maxFrameSize = maxFrameSize
        parsers = PerDirection(repeating: FrameParser(maxFrameSize: maxFrameSize))
        assemblers = Self.assemblers(deflate: nil, limits: limits, inflaters: inflaters)
    }

    private static func assemblers(deflate: DeflateParameters?, limits: InflateLimits, inflaters: InflaterBudget?) -> PerDirection<MessageAssembler> {
        PerDirection(c2s: MessageAssembler(direction: .c2s, deflate: deflate, limits: limits, inflaters: inflaters),
                     s2c: MessageAssembler(direction: .s2c, deflate: deflate, limits: limits, inflaters: inflaters))
    }

    func data<Bytes: Collection<UInt8>>(_ dir: Direction, _ bytes: Bytes, timestamp: Int64, sink: TapSink) throws {
        fed[dir] += bytes.count
        switch phase {
        case .ignored:
            summary.skippedBytes += bytes.count
        case .handshake:
            try handshake(dir, Array(bytes), timestamp: timestamp, sink: sink)
        case .webSocket:
            try frames(dir, bytes, timestamp: timestamp, sink: sink)
        }
    }

    /// The real server, once the proxy has reached it (the `open` record names it).
    func connected(to server: Endpoint) {
        self.server = server
    }

    /// The direction can no longer be followed frame by frame (not WebSocket, or lost).
    func isFollowing(_ dir: Direction) -> Bool {
        phase != .ignored && !(phase == .webSocket && lost[dir])
    }

    /// HTTP/1.1 requests and responses are followed one after another (keep-alive, pipelining,
    /// interim 1xx answers, bodies by length or in chunks) until a request for the upgrade is
    /// answered with a 101: connection pools send ordinary requests before the one that upgrades.
    private func handshake(_ dir: Direction, _ bytes: [UInt8], timestamp: Int64, sink: TapSink) throws {
        if dir == .c2s {
            if fed.c2s == bytes.count && bytes.count >= 3 && TLSDecryptor.startsHandshake(bytes) {
                return notDecrypted(because: Self.noKeyLog, bytes: bytes.count)
            }
            clientHTTP(bytes[...])
        } else {
            responseRest.append(contentsOf: bytes)
            if asked.isEmpty && responseRest.count > request.maxHeadSize { return notFollowed(responseRest.count) }  // a server that speaks first
            try serverHTTP(timestamp: timestamp, sink: sink)
        }
    }

    private func clientHTTP(_ bytes: ArraySlice<UInt8>) {
        var bytes = bytes
        while !bytes.isEmpty && phase == .handshake {
            if upgradeAsked {
                requestRest.append(contentsOf: bytes)  // frames sent before the answer arrived
                return
            }
            if var body = requestBody {
                switch body.skip(bytes) {
                case .needMore:
                    requestBody = body
                    return
                case .done(let rest):
                    requestBody = nil
                    bytes = rest
                case .malformed:
                    return notFollowed(bytes.count)
                }
                continue
            }
            switch request.feed(bytes) {
            case .needMore: return
            case .notHTTP, .tooLong: return notFollowed(bytes.count)
            case .head(let head, let rest):
                request = HTTPHeadReader(maxHeadSize: request.maxHeadSize)
                asked.append(head)
                bytes = rest[...]
                if head.asksForWebSocket {
                    upgradeAsked = true
                    continue
                }
                summary.httpRequests += 1
                if firstPlainRequest == nil { firstPlainRequest = head.startLine.prefix(2).joined(separator: " ") }
                switch HTTPBodyFraming.request(head) {
                case .none: break
                case .malformed, .untilClose: return notFollowed(bytes.count)
                case let framing: requestBody = HTTPBodySkipper(framing)
                }
            }
        }
    }

    private func serverHTTP(timestamp: Int64, sink: TapSink) throws {
        while !responseRest.isEmpty && phase == .handshake, let question = asked.first {
            let bytes = responseRest
            responseRest = []
            if var body = responseBody {
                switch body.skip(bytes[...]) {
                case .needMore: responseBody = body
                case .done(let rest):
                    responseBody = nil
                    responseRest = Array(rest)
                case .malformed: notFollowed(bytes.count)
                }
                continue
            }
            switch response.feed(bytes) {
            case .needMore: return
            case .notHTTP, .tooLong: return notFollowed(bytes.count)
            case .head(let head, let rest):
                response = HTTPHeadReader(maxHeadSize: response.maxHeadSize)
                guard let status = head.status else { return notFollowed(rest.count) }
                if status == 101 {
                    // Upgraded to something else (h2c, a raw tunnel) if it was not asked for WebSocket.
                    guard question.asksForWebSocket else { return notFollowed(rest.count) }
                    return try upgraded(request: question, response: head, rest: rest, timestamp: timestamp, sink: sink)
                }
                responseRest = rest
                if (100..<200).contains(status) { continue }  // an interim answer: the final one follows
                asked.removeFirst()
                let framing = HTTPBodyFraming.response(head, method: question.method ?? "")
                if case .untilClose = framing { return notFollowed(rest.count) }
                if case .malformed = framing { return notFollowed(rest.count) }
                if head.closesConnection { return notFollowed(rest.count) }
                responseBody = HTTPBodySkipper(framing)
                if question.asksForWebSocket {
                    // Refused (a 401, a 426): the client may go on with HTTP on the same connection.
                    upgradeAsked = false
                    let held = requestRest
                    requestRest = []
                    clientHTTP(held[...])
                }
            }
        }
    }

    private func upgraded(request: HTTPHead, response: HTTPHead, rest: [UInt8], timestamp: Int64, sink: TapSink) throws {
        frameStart = PerDirection(c2s: fed.c2s - requestRest.count, s2c: fed.s2c - rest.count)
        try open(request: request, response: response, timestamp: timestamp, sink: sink)
        onBoundary?(.c2s, frameStart.c2s)
        onBoundary?(.s2c, frameStart.s2c)
        let early = requestRest
        requestRest = []
        if !early.isEmpty { try frames(.c2s, early, timestamp: timestamp, sink: sink) }
        if !rest.isEmpty { try frames(.s2c, rest, timestamp: timestamp, sink: sink) }
    }

    /// Why a TLS connection is not decrypted when no key log was given.
    static let noKeyLog = "encrypted, and no --tls-keylog given"

    /// The connection is TLS that is not decrypted (`why`): counted, and not followed.
    func notDecrypted(because why: String, bytes: Int = 0) {
        summary.tlsStreams += 1
        summary.tlsNotDecrypted[why, default: 0] += 1
        ignore(bytes)
    }

    /// TLS that stopped decrypting part way (`past` what): `dir` is not followed from here on.
    func undecryptable(_ dir: Direction, past: String) {
        summary.tlsLost[past, default: 0] += 1
        if phase == .webSocket { lose(dir) } else { ignore(0) }
    }

    private func ignore(_ bytes: Int) {
        phase = .ignored
        summary.skippedBytes += bytes
    }

    /// The connection carries something that is not a WebSocket session basetap can follow.
    private func notFollowed(_ bytes: Int) {
        summary.otherStreams += 1
        ignore(bytes)
    }

    private func open(request: HTTPHead, response: HTTPHead, timestamp: Int64, sink: TapSink) throws {
        try startWebSocket(request: request, subprotocol: response.value("Sec-WebSocket-Protocol"),
                           extensions: response.value("Sec-WebSocket-Extensions"), timestamp: timestamp, sink: sink)
        if let key = request.value("Sec-WebSocket-Key"), let mismatch = HandshakeAccept.mismatch(key: key, answered: response.value("Sec-WebSocket-Accept")) {
            try sink.violation(conn: conn, dir: .s2c, rule: .wsHandshakeAccept, message: mismatch, offset: 0)
        }
    }

    /// Starts in the WebSocket phase as if `request` had been answered with a 101 agreeing to
    /// `subprotocol` and `extensions`: for bytes that were never sent to a server (`mutate`).
    func startWebSocket(request: HTTPHead, subprotocol: String?, extensions: String?, timestamp: Int64, sink: TapSink) throws {
        phase = .webSocket
        opened = true
        summary.webSocketConnections += 1
        var record = CaptureRecord(ts: CaptureTime.format(nanoseconds: timestamp), conn: conn, kind: .open)
        record.url = request.target
        record.headers = request.headers
        record.subprotocol = subprotocol
        record.extensions = extensions
        record.client = client.description
        record.server = server.description
        try sink.record(record)
        deflate = DeflateParameters.negotiated(extensions)
        assemblers = Self.assemblers(deflate: deflate, limits: limits, inflaters: inflaters)
    }

    private func frames<Bytes: Collection<UInt8>>(_ dir: Direction, _ bytes: Bytes, timestamp: Int64, sink: TapSink) throws {
        guard !lost[dir] else {
            summary.skippedBytes += bytes.count
            return
        }
        parsers[dir].append(bytes)
        while true {
            let frame: WebSocketFrame?
            do {
                frame = try parsers[dir].next()
            } catch {
                guard case .frameTooLarge(let length, let offset) = error else { return }
                try sink.violation(
                    conn: conn, dir: dir, rule: .wsMessageLimit,
                    message: "frame of \(length) bytes exceeds the limit of \(maxFrameSize); the rest of this direction is skipped",
                    offset: offset)
                lose(dir)
                return
            }
            guard let frame else { return }
            for event in assemblers[dir].consume(frame) {
                try emit(event, dir, timestamp: timestamp, sink: sink)
            }
            if let onBoundary, !assemblers[dir].isInsideMessage { onBoundary(dir, frameStart[dir] + parsers[dir].streamOffset) }
        }
    }

    private func emit(_ event: MessageAssembler.Event, _ dir: Direction, timestamp: Int64, sink: TapSink) throws {
        switch event {
        case .message(let opcode, let payload, let frames, _):
            let kind = CaptureRecord.Kind(opcode)
            summary.messages += 1
            var record = CaptureRecord(ts: CaptureTime.format(nanoseconds: timestamp), conn: conn, dir: dir, kind: kind, payload: payload)
            record.frames = frames
            try sink.record(record)
        case .control(let opcode, let payload, let frame, let code, let reason, _):
            let kind = CaptureRecord.Kind(opcode)
            summary.controlFrames += 1
            if kind == .close { closed[dir] = true }
            var record = CaptureRecord(ts: CaptureTime.format(nanoseconds: timestamp), conn: conn, dir: dir, kind: kind, payload: kind == .close ? [] : payload)
            record.code = code
            record.reason = kind == .close ? reason : nil
            record.frames = [frame]
            try sink.record(record)
        case .violation(let rule, let message, let offset):
            try sink.violation(conn: conn, dir: dir, rule: rule, message: message, offset: offset)
        }
    }

    /// Bytes of `dir` held for a frame that is not complete yet.
    func pendingBytes(_ dir: Direction) -> Int {
        phase == .webSocket ? parsers[dir].bufferedBytes : 0
    }

    /// The stream of `dir` is not followed from here on: count what is left unparsed.
    func lose(_ dir: Direction) {
        guard phase == .webSocket, !lost[dir] else { return }
        lost[dir] = true
        summary.skippedBytes += parsers[dir].bufferedBytes
    }

    func gap(_ dir: Direction, missing: Int, offset: Int, sink: TapSink) throws {
        summary.gaps += 1
        summary.gapBytes += missing
        try sink.violation(
            conn: conn, dir: dir, rule: .tcpGap,
            message: "\(missing) bytes missing from the capture at stream offset \(offset); the rest of this direction is skipped",
            offset: offset)
        lose(dir)
        if phase == .handshake { ignore(0) }
    }

    func conflict(_ dir: Direction, offset: Int, length: Int, sink: TapSink) throws {
        summary.overlapConflicts += 1
        try sink.violation(
            conn: conn, dir: dir, rule: .tcpOverlapConflict,
            message: "a retransmission of \(length) bytes at stream offset \(offset) differs from the first copy, which is kept",
            offset: offset)
    }

    /// How every path (proxy, pcap, replay) words a WebSocket connection that ended without any
    /// Close frame: replay compares recorded and new ends by this text, so it is made here only.
    static func dropped(by dir: Direction) -> String {
        "the \(dir.sender) dropped the connection without a closing handshake"
    }

    /// The connection is over: a clean close, a reset, or the end of the capture. `droppedBy` is the
    /// side whose TCP end (FIN or reset) came first, when that is known; a capture that simply stops
    /// says nothing about who ended it.
    func end(error: String?, droppedBy: Direction? = nil, timestamp: Int64, sink: TapSink) throws {
        guard !ended else { return }
        ended = true
        guard opened else {
            if phase == .handshake && summary.httpRequests > 0 { summary.otherStreams += 1 }  // plain HTTP to the end
            return
        }
        var reason = error
        if let droppedBy, phase == .webSocket, !closed.c2s, !closed.s2c {
            let dropped = Self.dropped(by: droppedBy)
            reason = reason.map { "\($0); \(dropped)" } ?? dropped
            try sink.violation(conn: conn, dir: droppedBy, rule: .wsNoClosingHandshake,
                               message: "the connection ended without a Close frame from either side (RFC 6455 §7.1.1)", offset: parsers[droppedBy].streamOffset + parsers[droppedBy].bufferedBytes)
        }
        for dir in Direction.allCases where !lost[dir] && parsers[dir].bufferedBytes > 0 {
            summary.skippedBytes += parsers[dir].bufferedBytes
            let unfinished = "the connection ended in the middle of a \(dir.sender) frame (\(parsers[dir].bufferedBytes) bytes of it received)"
            reason = reason.map { "\($0); \(unfinished)" } ?? unfinished
        }
        var record = CaptureRecord(ts: CaptureTime.format(nanoseconds: timestamp), conn: conn, kind: .end)
        record.error = reason
        try sink.record(record)
    }
}

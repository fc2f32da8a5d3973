import NIOCore
import NIOPosix
import NIOSSL

/// One client connection and, once its request head is read, its upstream: both channels live on
/// the same event loop, and everything here runs on it. `ProxyConnectionState` decides what the
/// connection does next; this class acts (connects, relays, closes) and feeds the `ProxyTap`.
///
/// A direction is relayed byte for byte as it is read, until message-level control touches it
/// (`--block`, a hold filter, an injection): from then on a `MessageGate` holds its bytes and lets
/// them go a message at a time, each as it came unless it was dropped or edited.
final class ProxyConnection {
    let conn: Int
    let client: Channel
    private unowned let proxy: ProxyServer
    private var state = ProxyConnectionState()
    private(set) var tap: ProxyTap?
    private var upstream: Channel?
    /// Each side's relay, by the direction it reads: the client's reads c2s, the upstream's s2c.
    private var relays = PerDirection<RelayHandler?>(repeating: nil)
    private var gates = PerDirection<MessageGate?>(repeating: nil)
    /// Set once a compressed message of a direction was dropped or replaced: the receiver's window
    /// then differs from the sender's, and basetap compresses every later message itself.
    private var deflaters = PerDirection<MessageDeflater?>(repeating: nil)
    private var halfClose = false
    private var nextHold = 0
    private var holdTimers: [Int: Scheduled<Void>] = [:]
    /// Requests injected toward the server whose answers go to the injector, by id.
    private var injectedRequests: [String: @Sendable (CaptureRecord) -> Void] = [:]
    /// An error-level violation crossed the connection under `--block`: close once it is dropped.
    private var blocked: Violation?

    init(conn: Int, client: Channel, proxy: ProxyServer) {
        self.conn = conn
        self.client = client
        self.proxy = proxy
    }

    private var loop: EventLoop { client.eventLoop }

    // MARK: The head

    /// From here on the client's plaintext is inspected, and its first request head decides the upstream.
    func attach(route: ProxyTarget, rewriteHost: Bool) throws {
        tap = ProxyTap(
            conn: conn, client: Endpoint(client.remoteAddress), listener: Endpoint(client.localAddress),
            settings: proxy.tapSettings, writer: proxy.writer)
        tap!.onUnit = { [unowned self] dir, unit in decide(dir, unit) }
        let relay = RelayHandler(dir: .c2s, connection: self)
        relays.c2s = relay
        try client.pipeline.syncOperations.addHandler(relay)
        try client.pipeline.syncOperations.addHandler(UpgradeHandler(conn: conn, route: route, rewriteHost: rewriteHost, proxy: proxy, connection: self))
    }

    /// The request head is complete: reach the upstream on this event loop. Over TLS the relay
    /// starts only after the handshake, so a bad certificate is a 502.
    func headComplete(route: ProxyTarget, firstBytes: ByteBuffer) {
        guard state.headComplete() == .connect else { return }
        if let deadline = try? client.pipeline.syncOperations.handler(type: HeadDeadline.self) {
            client.pipeline.syncOperations.removeHandler(deadline, promise: nil)
        }
        let handshake = loop.makePromise(of: Void.self)
        let upstreamTLS = proxy.upstreamContext
        ClientBootstrap(group: loop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connectTimeout(.seconds(10))
            .channelInitializer { [proxy, conn] channel in
                channel.eventLoop.makeCompletedFuture {
                    if route.tls {
                        let tls = try NIOSSLClientHandler(context: upstreamTLS, serverHostname: UpstreamTLS.serverName(route.host))
                        try channel.pipeline.syncOperations.addHandler(tls)
                        try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake))
                    } else {
                        handshake.succeed()
                    }
                    try proxy.addIdleTimeout(channel, conn: conn)
                }
            }
            .connect(host: route.host, port: route.port)
            .flatMapError { [loop] error in
                handshake.fail(error)
                return loop.makeFailedFuture(error)
            }
            .flatMap { upstream in
                handshake.futureResult.map { upstream }.flatMapErrorThrowing { error in
                    upstream.close(promise: nil)
                    throw UpstreamTLSFailure(error: error)
                }
            }
            .assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let upstream):
                    connected(upstream, route: route, firstBytes: firstBytes)
                case .failure(let error):
                    let reason = (error as? UpstreamTLSFailure).map { "upstream \(route.authority): \(ConnectionErrorText.describe($0.error, dir: .s2c))" }
                        ?? "upstream \(route.authority) unreachable: \(ConnectionErrorText.describe(error))"
                    guard case .answer(let status, let text) = state.upstreamFailed(reason) else { return }
                    proxy.note("c\(conn): \(text)")
                    client.writeAndFlush(ProxyServer.httpError(status, text, allocator: client.allocator)).whenComplete { [client] _ in
                        client.close(promise: nil)
                    }
                }
            }
    }

    private func connected(_ upstream: Channel, route: ProxyTarget, firstBytes: ByteBuffer) {
        guard state.upstreamConnected() == .startRelay, let tap else { return upstream.close(promise: nil) }
        self.upstream = upstream
        tap.connected(local: Endpoint(upstream.localAddress), server: Endpoint(upstream.remoteAddress))
        let clientTLS = (try? client.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)) != nil
        // Over TLS a half-closed leg would only linger, so there an end of input closes both.
        halfClose = !route.tls && !clientTLS
        let relay = RelayHandler(dir: .s2c, connection: self)
        relays.s2c = relay
        do {
            try upstream.pipeline.syncOperations.addHandler(relay)
        } catch {
            client.close(promise: nil)
            upstream.close(promise: nil)
            return
        }
        upstream.closeFuture.assumeIsolated().whenComplete { [self] _ in inactive(.s2c) }
        for dir in Direction.allCases where proxy.options.block || proxy.control.isHolding {
            gate(dir)
        }
        relay.write(firstBytes)
        tap.wrote(.c2s, firstBytes)
        relay.flush()
        client.setOption(.autoRead, value: true).whenComplete { [client] _ in client.read() }
    }

    // MARK: Relaying

    /// Bytes read on `dir`'s side. True: pass them on in the pipeline (the request head's handler).
    func read(_ dir: Direction, _ buffer: ByteBuffer) -> Bool {
        guard let tap else { return true }
        switch state.phase {
        case .head, .connecting:
            tap.read(dir, buffer)
            return true
        case .relaying, .closing:
            break
        case .closed:
            return false
        }
        if gates[dir] == nil && proxy.control.isHolding { gate(dir) }
        if gates[dir] != nil {
            gates[dir]!.append(buffer)
            tap.read(dir, buffer)
            if !tap.isFollowing(dir) {
                send(dir, gates[dir]!.openUp())
                gates[dir] = nil
                tap.gated[dir] = false
            } else {
                send(dir, gates[dir]!.drain())
            }
        } else {
            tap.read(dir, buffer)
            relays[dir.opposite]?.write(buffer)
            tap.wrote(dir, buffer)
        }
        if let blocked {
            self.blocked = nil
            block(blocked)
        }
        return false
    }

    func readComplete(_ dir: Direction) {
        relays[dir.opposite]?.flush()
        tap?.flush()
    }

    func mayRead(_ dir: Direction) -> Bool {
        guard state.phase == .relaying || state.phase == .closing else { return true }
        guard relays[dir.opposite]?.isWritable ?? true else { return false }
        if proxy.writer.isBacklogged {
            let resume = NIOLoopBound(relays[dir]!, eventLoop: loop)
            if proxy.writer.whenBelowLowWater({ [loop] in loop.execute { resume.value.resumeReading() } }) { return false }
        }
        return true
    }

    /// The side that receives `dir` can take more.
    func becameWritable(_ dir: Direction) {
        relays[dir]?.resumeReading()
    }

    func inputEnded(_ dir: Direction) {
        switch state.inputEnded(dir, halfClose: halfClose) {
        case .shutOutput(let receiver):
            relays[receiver]?.flush()
            relays[receiver]?.context?.close(mode: .output, promise: nil)
        case .closeBoth:
            closeChannels()
        case .nothing:
            break
        }
    }

    func inactive(_ dir: Direction) {
        switch state.channelInactive(dir) {
        case .closeOther:
            client.close(promise: nil)
        case .finish:
            upstream?.close(promise: nil)
            finish()
        case .nothing:
            break
        }
    }

    func failed(_ dir: Direction, _ text: String) {
        state.failed(text)
        if !proxy.options.quiet { proxy.note("c\(conn): \(text)") }
    }

    /// basetap ends the connection: `--idle-timeout`, `--block`, or the proxy stopping.
    func close(failure: String?, code: UInt16?, reason: String = "") {
        let action = state.basetapCloses(failure: failure, close: code.map { ($0, reason) }, webSocket: tap?.isWebSocket ?? false)
        if action != .nothing, let failure, !proxy.options.quiet { proxy.note("c\(conn): \(failure)") }
        switch action {
        case .closeWith(let code, let reason):
            let payload = CloseCode.payload(Int(code), String(decoding: reason.utf8.prefix(120), as: UTF8.self))
            var generator = SystemRandomNumberGenerator()
            let frames = [
                FrameEncoder.encode(WebSocketFrame(opcode: .close, payload: payload)),
                FrameEncoder.encode(WebSocketFrame(opcode: .close, maskKey: FrameEncoder.randomMask(using: &generator), payload: payload)),
            ]
            // The client gets the server's Close (unmasked), the server the client's (masked).
            for (relay, bytes) in [(relays.c2s, frames[0]), (relays.s2c, frames[1])] {
                guard let relay, let context = relay.context else { continue }
                let channel = context.channel
                channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).whenComplete { _ in
                    channel.eventLoop.scheduleTask(in: .milliseconds(100)) { channel.close(promise: nil) }
                }
            }
        case .closeNow:
            closeChannels()
        case .nothing:
            break
        }
    }

    private func closeChannels() {
        client.close(promise: nil)
        upstream?.close(promise: nil)
    }

    private func finish() {
        for timer in holdTimers.values { timer.cancel() }
        holdTimers.removeAll()
        // Messages still held go nowhere now: whoever shows them must stop waiting.
        for dir in Direction.allCases {
            for hold in holds(dir) { proxy.control.settled(conn: conn, hold: hold) }
        }
        tap?.end(error: state.failure, droppedBy: state.droppedBy)
        relays = PerDirection(repeating: nil)
        proxy.closed(conn)
    }

    // MARK: Message-level control

    /// From here on `dir` is relayed a unit at a time through a gate.
    private func gate(_ dir: Direction) {
        guard gates[dir] == nil, let tap else { return }
        gates[dir] = MessageGate(released: tap.fed[dir], position: tap.lastBoundary[dir], allocator: client.allocator)
        tap.gated[dir] = true
    }

    /// A unit of a gated direction is complete: what becomes of it.
    private func decide(_ dir: Direction, _ unit: ProxyTap.Unit) {
        var decision = MessageGate.Decision.forward
        if proxy.options.block, let error = unit.error {
            decision = .drop
            if blocked == nil { blocked = error }
        } else if let message = unit.message, dir == .s2c, let id = Envelope.id(of: message), let answer = injectedRequests[id] {
            // The answer to a request basetap injected goes to whoever injected it, not to the client.
            injectedRequests[id] = nil
            answer(message)
            decision = .drop
        } else if let message = unit.message, proxy.control.shouldHold(message) {
            nextHold += 1
            let hold = nextHold
            decision = .hold(hold)
            let timeout = proxy.control.holdTimeout
            holdTimers[hold] = loop.assumeIsolated().scheduleTask(in: timeout.after) { [self] in
                holdTimers[hold] = nil
                _ = settle(dir, hold, timeout.policy)
            }
            proxy.control.held(HeldMessage(conn: conn, hold: hold, record: message))
        }
        gates[dir]?.add(unit, decision)
    }

    /// What a user decided for a held message. False when it was no longer held.
    func settle(_ dir: Direction, _ hold: Int, _ release: Release) -> Bool {
        guard gates[dir] != nil else { return false }
        let decision: MessageGate.Decision
        var edited: CaptureRecord?
        switch release {
        case .forward: decision = .forward
        case .drop: decision = .drop
        case .edit(let kind, let payload):
            decision = .replace(frame(dir, kind: kind, payload))
            edited = CaptureRecord(ts: CaptureTime.format(nanoseconds: CaptureTime.nanoseconds()), conn: "c\(conn)", dir: dir, kind: kind, payload: payload)
            edited!.control = .edited
        }
        guard gates[dir]!.settle(hold, decision, edited: edited) else { return false }
        if let edited { tap?.checkInjected(edited) }
        holdTimers.removeValue(forKey: hold)?.cancel()
        send(dir, gates[dir]!.drain())
        relays[dir.opposite]?.flush()
        tap?.flush()
        proxy.control.settled(conn: conn, hold: hold)
        return true
    }

    /// Holds still waiting, per direction.
    func holds(_ dir: Direction) -> [Int] { gates[dir]?.holds ?? [] }

    /// A new message into the connection, between messages. `answer`: for a request toward the
    /// server with an `id`, its answer goes there instead of to the client.
    func inject(_ dir: Direction, kind: CaptureRecord.Kind, _ payload: [UInt8], answer: (@Sendable (CaptureRecord) -> Void)?) -> Bool {
        guard state.phase == .relaying, tap?.isWebSocket == true else { return false }
        var record = CaptureRecord(ts: CaptureTime.format(nanoseconds: CaptureTime.nanoseconds()), conn: "c\(conn)", dir: dir, kind: kind, payload: payload)
        record.control = .injected
        if let answer, dir == .c2s, let id = Envelope.id(of: record) {
            injectedRequests[id] = answer
            gate(.s2c)
        }
        gate(dir)
        var unit = ProxyTap.Unit(end: 0, message: record)
        unit.injected = true
        gates[dir]!.inject(frame(dir, kind: kind, payload), unit)
        tap?.checkInjected(record)
        send(dir, gates[dir]!.drain())
        relays[dir.opposite]?.flush()
        tap?.flush()
        return true
    }

    /// Sends what a gate let go, and records each unit as what the receiver got.
    private func send(_ dir: Direction, _ outputs: [MessageGate.Output]) {
        guard let tap, !outputs.isEmpty else { return }
        let receiver = relays[dir.opposite]
        for output in outputs {
            switch output {
            case .original(let bytes, let entry):
                if let deflater = deflaters[dir], let unit = entry.unit, let message = unit.message, Self.isCompressed(message) {
                    var frames = frame(dir, kind: message.kind, deflater.compress(message.payload), compressed: true)
                    for control in unit.controls { frames += frame(dir, kind: control.kind, Self.payload(of: control)) }
                    let buffer = client.allocator.buffer(bytes: frames)
                    receiver?.write(buffer)
                    tap.wrote(dir, buffer)
                    tap.delivered(message)
                    record(unit, mark: reencodedMarked[dir] ? nil : .reencoded)
                    reencodedMarked[dir] = true
                    continue
                }
                receiver?.write(bytes)
                tap.wrote(dir, bytes)
                if let unit = entry.unit {
                    if let message = unit.message { tap.delivered(message) }
                    record(unit, mark: nil)
                }
            case .replaced(let entry):
                guard let unit = entry.unit else { continue }
                var bytes: [UInt8] = []
                if case .replace(let frames) = entry.decision { bytes = frames }
                if !unit.injected {
                    // Control frames that were inside the message still reach the receiver.
                    for control in unit.controls { bytes += frame(dir, kind: control.kind, Self.payload(of: control)) }
                    if let message = unit.message, Self.isCompressed(message) { takeOverCompression(dir) }
                }
                if !bytes.isEmpty {
                    let buffer = client.allocator.buffer(bytes: bytes)
                    receiver?.write(buffer)
                    tap.wrote(dir, buffer)
                }
                if unit.injected {
                    if let message = unit.message { tap.recordDecided(message) }
                } else if case .replace = entry.decision {
                    record(unit, mark: .replaced)
                    if let edited = entry.edited { tap.recordDecided(edited) }
                } else {
                    record(unit, mark: .dropped)
                }
            }
        }
    }

    private var reencodedMarked = PerDirection(repeating: false)

    /// The receiver never inflated a message the sender compressed: from here on basetap compresses
    /// this direction itself, from the receiver's window (unless every message starts afresh).
    private func takeOverCompression(_ dir: Direction) {
        guard deflaters[dir] == nil, let tap, let deflate = tap.deflate, !deflate.noContextTakeover(dir) else { return }
        deflaters[dir] = MessageDeflater(
            windowBits: dir == .c2s ? deflate.clientMaxWindowBits : deflate.serverMaxWindowBits, noContextTakeover: false,
            window: Array(tap.windows[dir].recent))
    }

    private static func isCompressed(_ message: CaptureRecord) -> Bool {
        message.frames?.first.map { $0.rsv & 4 != 0 } ?? false
    }

    private func record(_ unit: ProxyTap.Unit, mark: CaptureRecord.ControlMark?) {
        guard let tap else { return }
        if var message = unit.message {
            message.control = mark
            tap.recordDecided(message)
        }
        for control in unit.controls { tap.recordDecided(control) }
    }

    private func block(_ violation: Violation) {
        proxy.note("c\(conn): blocked with 1008 (\(violation.rule.id) at \(violation.pointer.isEmpty ? "\"\"" : violation.pointer))")
        close(failure: "blocked by basetap: \(violation.rule.id)", code: 1008, reason: "basetap: \(violation.rule.id)")
    }

    /// A frame toward `dir`'s receiver: masked toward the server, as RFC 6455 wants of a client.
    private func frame(_ dir: Direction, kind: CaptureRecord.Kind, _ payload: [UInt8], compressed: Bool = false) -> [UInt8] {
        let opcode: UInt8 = switch kind {
        case .text: 0x1
        case .binary: 0x2
        case .close: 0x8
        case .ping: 0x9
        case .pong: 0xA
        case .open, .end: 0x1
        }
        var generator = SystemRandomNumberGenerator()
        let mask = dir == .c2s ? FrameEncoder.randomMask(using: &generator) : nil
        return FrameEncoder.encode(WebSocketFrame(rsv: compressed ? 4 : 0, opcode: opcode, maskKey: mask, payload: payload))
    }

    /// A control frame's payload as it was sent (a Close record keeps its code and reason apart).
    private static func payload(of control: CaptureRecord) -> [UInt8] {
        guard control.kind == .close else { return control.payload }
        return control.code.map { CloseCode.payload($0, control.reason ?? "") } ?? []
    }
}

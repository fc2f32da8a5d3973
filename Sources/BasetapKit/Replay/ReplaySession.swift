import Foundation
import NIOCore
import NIOSSL

/// Plays one `ReplayConnection` against a server on a channel: the upgrade, each step with its
/// pacing, answers to pings, waiting for answers by id, and the closing handshake. Everything sent
/// and received goes through a `WebSocketTap`, so the new session is a capture like any other.
final class ReplaySession: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case upgrading(HTTPHeadReader, received: [UInt8])
        case open
        case closing
        case done
    }

    private let plan: ReplayConnection
    private let options: ReplayOptions
    private let promise: EventLoopPromise<ReplayOutcome>
    private let key: String
    /// The key the upgrade's answer must match: the recorded one in a raw head, which may have none.
    private let acceptKey: String?
    private let expected: Set<String>
    private var outcome: ReplayOutcome
    private var decoder: WebSocketTap?
    private var sink: Sink?
    private var phase = Phase.upgrading(HTTPHeadReader(), received: [])
    private var next = 0
    private var started: NIODeadline = .now()
    private var sentAt: [String: Int64] = [:]
    /// The id whose answer the session waits for before going on, and the timer that ends the wait.
    private var awaiting: Set<String> = []
    private var waitTimer: Scheduled<Void>?
    private var stepTimer: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    private var sentClose = false
    private var tagging: CaptureRecord.Mutation?
    private var receivedClose = false
    /// The session closed TCP itself (a timeout), so the server did not drop it.
    private var closedByClient = false
    private var generator = SystemRandomNumberGenerator()
    /// A raw step left the client's stream inside an unfinished frame: the server reads what follows
    /// as that frame's payload, so it is recorded as the bytes sent (`raw` records), not decoded.
    private var c2sUnframed = false

    init(plan: ReplayConnection, options: ReplayOptions, promise: EventLoopPromise<ReplayOutcome>) {
        self.plan = plan
        self.options = options
        self.promise = promise
        self.expected = plan.expected
        outcome = ReplayOutcome(conn: plan.conn)
        outcome.startedAt = CaptureTime.nanoseconds()
        key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        if let rawHead = plan.rawHead {
            var reader = HTTPHeadReader()
            if case .head(let head, _) = reader.feed(rawHead) { acceptKey = head.value("Sec-WebSocket-Key") } else { acceptKey = nil }
        } else {
            acceptKey = key
        }
    }

    // MARK: Upgrade

    func channelActive(context: ChannelHandlerContext) {
        decoder = WebSocketTap(
            conn: plan.conn, client: Endpoint(context.channel.localAddress), server: Endpoint(context.channel.remoteAddress),
            limits: options.limits, maxFrameSize: options.limits.maxSize)
        sink = Sink(session: self, context: context)
        send(context, plan.rawHead ?? Array(plan.requestHead(target: options.target, path: options.path, extra: options.headers, key: key).utf8))
        context.flush()
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: options.timeoutAmount) { [self] in
            if case .upgrading = phase { fail(context, "no answer to the upgrade request within \(options.timeout) s") }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        switch phase {
        case .upgrading(var reader, var received):
            received += bytes
            switch reader.feed(bytes) {
            case .needMore:
                phase = .upgrading(reader, received: received)
            case .notHTTP(let why):
                fail(context, "the server's answer to the upgrade is not HTTP: \(why)")
            case .tooLong:
                fail(context, "the server's answer to the upgrade has no end of its head within \(reader.maxHeadSize) bytes")
            case .head(let head, _):
                guard head.status == 101 else {
                    return fail(context, "the server answered the upgrade with '\(head.startLine.joined(separator: " "))'")
                }
                if let acceptKey, let mismatch = HandshakeAccept.mismatch(key: acceptKey, answered: head.value("Sec-WebSocket-Accept")) {
                    return fail(context, "the server's \(mismatch) (RFC 6455 §4.2.2)")
                }
                closeTimer?.cancel()
                phase = .open
                started = .now()
                decode(.s2c, received)
                sendSteps(context)
            }
        case .open, .closing:
            decode(.s2c, bytes)
        case .done:
            break
        }
    }

    // MARK: Sending

    private func sendSteps(_ context: ChannelHandlerContext) {
        stepTimer = nil
        var wrote = false
        defer { if wrote { context.flush() } }
        while case .open = phase, next < plan.steps.count, awaiting.isEmpty {
            let step = plan.steps[next]
            if case .recorded(let speed) = options.pace {
                let due = started + .nanoseconds(Int64(Double(step.at) / speed))
                if due > .now() {
                    stepTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in sendSteps(context) }
                    return
                }
            }
            guard context.channel.isWritable else { return }  // channelWritabilityChanged resumes
            if case .close = step.action, !outstanding.isEmpty {
                return wait(for: outstanding, context)  // the recorded client had its answers before it closed
            }
            next += 1
            wrote = true
            // Records the decoder makes of what this step sends carry its mutation, as CAPTURE-FORMAT.md asks.
            tagging = step.mutation
            defer { tagging = nil }
            if case .close = step.action { return startClosing(context, step: step) }
            if case .disconnect = step.action {
                phase = .closing
                closedByClient = true
                return context.close(promise: nil)
            }
            let bytes = step.wireBytes(using: &generator)
            send(context, bytes)
            if case .raw = step.action, !c2sUnframed, let pending = decoder?.pendingBytes(.c2s), pending > 0 {
                c2sUnframed = true
                decoder?.lose(.c2s)
                recordRaw(Array(bytes.suffix(pending)))
            }
            switch step.action {
            case .message, .raw:
                outcome.messagesSent += 1
                if let id = step.id {
                    sentAt[id] = sentAt[id] ?? CaptureTime.nanoseconds()
                    if options.waitAnswers && expected.contains(id) && outcome.latencies[id] == nil { wait(for: [id], context) }
                }
            case .ping, .close, .disconnect:
                break
            }
        }
        guard case .open = phase, next == plan.steps.count, awaiting.isEmpty else { return }
        // Every step is out and the recording had no close: wait for the answers, then close with 1000.
        if !outstanding.isEmpty { return wait(for: outstanding, context) }
        startClosing(context, step: ReplayConnection.Step(action: .close(code: 1000, reason: nil)))
    }

    /// Requests sent whose recorded answers have neither arrived nor timed out.
    private var outstanding: Set<String> {
        Set(sentAt.keys).intersection(expected).subtracting(outcome.latencies.keys).subtracting(outcome.unanswered)
    }

    private func wait(for ids: Set<String>, _ context: ChannelHandlerContext) {
        awaiting = ids
        waitTimer = context.eventLoop.assumeIsolated().scheduleTask(in: options.timeoutAmount) { [self] in
            outcome.unanswered += awaiting.sorted()
            awaiting = []
            if options.abandonUnanswered {
                outcome.timedOut = true
                outcome.abnormalEnd = "no answer within \(options.timeout) s"
                closedByClient = true
                return context.close(promise: nil)
            }
            sendSteps(context)
        }
    }

    private func answered(_ id: String, _ context: ChannelHandlerContext) {
        if let sent = sentAt[id], outcome.latencies[id] == nil { outcome.latencies[id] = CaptureTime.nanoseconds() - sent }
        guard awaiting.remove(id) != nil, awaiting.isEmpty else { return }
        waitTimer?.cancel()
        sendSteps(context)
    }

    private func startClosing(_ context: ChannelHandlerContext, step: ReplayConnection.Step) {
        phase = .closing
        if !sentClose {
            sentClose = true
            send(context, step.wireBytes(using: &generator))
            context.flush()
        }
        // The server closes TCP after the closing handshake; one that does not is closed for it.
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: options.timeoutAmount) { [self] in
            if !receivedClose {
                outcome.abnormalEnd = "no Close from the server within \(options.timeout) s"
                outcome.timedOut = true
            }
            closedByClient = true
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, stepTimer == nil { sendSteps(context) }
        context.fireChannelWritabilityChanged()
    }

    private func send(_ context: ChannelHandlerContext, _ bytes: [UInt8]) {
        context.write(NIOAny(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        if c2sUnframed { recordRaw(bytes) } else { decode(.c2s, bytes) }
    }

    private func recordRaw(_ bytes: [UInt8]) {
        var record = CaptureRecord(ts: CaptureTime.now(), conn: plan.conn, dir: .c2s, kind: .binary, payload: bytes)
        record.raw = true
        record.mutation = tagging
        outcome.records.append(record)
    }

    // MARK: Receiving and the end

    private func decode(_ dir: Direction, _ bytes: [UInt8]) {
        guard let sink else { return }
        try? decoder?.data(dir, bytes, timestamp: CaptureTime.nanoseconds(), sink: sink)
    }

    fileprivate func received(_ record: CaptureRecord, _ context: ChannelHandlerContext) {
        var record = record
        if record.dir == .c2s, let tagging { record.mutation = tagging }
        outcome.records.append(record)
        guard record.dir == .s2c else { return }
        switch record.kind {
        case .text:
            if let id = Envelope.peek(record.payload)?.id { answered(id, context) }
        case .ping:
            send(context, FrameEncoder.encode(WebSocketFrame(opcode: .pong, maskKey: FrameEncoder.randomMask(using: &generator), payload: record.payload)))
            context.flush()
        case .close:
            receivedClose = true
            if !sentClose {
                outcome.closedByServer = true
                waitTimer?.cancel()
                stepTimer?.cancel()
                startClosing(context, step: ReplayConnection.Step(action: .close(code: record.code, reason: nil)))
            }
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if case .upgrading = phase {
            // A TLS handshake that fails is the target being unusable, like a refused connection.
            outcome.unreachable = error is NIOSSLError
            return fail(context, ConnectionErrorText.describe(error, dir: .s2c))
        }
        // A server that closes TCP without TLS close_notify after the closing handshake ended normally.
        let unclean = (error as? NIOSSLError).map { if case .uncleanShutdown = $0 { true } else { false } } ?? false
        if outcome.abnormalEnd == nil && !(unclean && receivedClose) { outcome.abnormalEnd = ConnectionErrorText.describe(error, dir: .s2c) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context)
        context.fireChannelInactive()
    }

    private func fail(_ context: ChannelHandlerContext, _ why: String) {
        if outcome.failure == nil { outcome.failure = why }
        context.close(promise: nil)
    }

    private func finish(_ context: ChannelHandlerContext) {
        if case .done = phase { return }
        if case .upgrading = phase, outcome.failure == nil { outcome.failure = "the server closed the connection during the upgrade" }
        if outcome.failure == nil && !receivedClose && outcome.abnormalEnd == nil {
            outcome.abnormalEnd = sentClose ? "the server closed the connection without answering the client's Close"
                : WebSocketTap.dropped(by: .s2c)
        }
        phase = .done
        for timer in [waitTimer, stepTimer, closeTimer] { timer?.cancel() }
        if !outcome.closedByServer && outcome.abnormalEnd == nil { outcome.unanswered += outstanding.sorted() }
        if let decoder, let sink, decoder.opened {
            try? decoder.end(error: outcome.abnormalEnd, droppedBy: closedByClient ? .c2s : .s2c, timestamp: CaptureTime.nanoseconds(), sink: sink)
        }
        sink = nil
        outcome.endedAt = CaptureTime.nanoseconds()
        promise.succeed(outcome)
    }

    /// Hands the decoder's records and wire findings back to the session on its event loop.
    private final class Sink: TapSink {
        unowned let session: ReplaySession
        let context: ChannelHandlerContext

        init(session: ReplaySession, context: ChannelHandlerContext) {
            self.session = session
            self.context = context
        }

        func record(_ record: CaptureRecord) throws { session.received(record, context) }
        func violation(conn: String, dir: Direction, rule: Rule, message: String, offset: Int) throws {
            session.outcome.wire.append(WireFinding(dir: dir, rule: rule, message: message, offset: offset, atRecord: session.outcome.records.count))
        }
    }
}

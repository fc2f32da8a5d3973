import NIOCore

/// Everything the proxy does with one connection's traffic besides relaying it: decoding (the same
/// `WebSocketTap` as for pcap files), checking, the message log, and encoding the JSONL and
/// pcap records. It runs on the connection's own event loop, beside the relay, so inspection uses
/// every core; what it produces goes to the `SinkWriter` in one batch per read.
///
/// For directions under message-level control it also tells the relay where the units end (a
/// message with the control frames inside it, or a control frame) and what each one was.
final class ProxyTap: TapSink {
    struct Settings {
        var check = CheckOptions()
        var format = OutputFormat.text
        var style = Style(enabled: false)
        var logMessages = false
        var logSecrets = false
        var quiet = false
        var record = false
        var pcap = false
        /// Feed the web inspector (`--ui`).
        var inspect = false
        var limits = InflateLimits()
        var maxFrameSize = FrameParser.defaultMaxFrameSize
        var maxHeadSize = HTTPHeadReader.defaultMaxHeadSize
    }

    /// What a unit between two boundaries held: the relay decides on it.
    struct Unit {
        var end: Int
        var message: CaptureRecord?
        var controls: [CaptureRecord] = []
        /// The first error-level violation found in it.
        var error: Violation?
        /// basetap's own message, not read from the sender.
        var injected = false
    }

    let conn: Int
    private let settings: Settings
    private let writer: SinkWriter
    private let decoder: WebSocketTap
    private var checker: CaptureChecker!
    private let formatter: ViolationFormatter
    /// The client leg (client and basetap's listener) and the upstream leg (basetap and the server).
    private var legs: [TCPPacketBuilder?] = [nil, nil]
    /// The leg whose peer sends `dir`: the client's for c2s, the server's for s2c.
    private static func leg(from dir: Direction) -> Int { dir == .c2s ? 0 : 1 }
    private var batch = SinkWriter.Batch()
    private var pending = PerDirection(repeating: Unit(end: 0))
    /// Set by the relay: directions whose units it wants, and records it writes itself when decided.
    var gated = PerDirection(repeating: false)
    var onUnit: ((Direction, Unit) -> Void)?
    private(set) var lastBoundary = PerDirection(repeating: 0)
    private(set) var fed = PerDirection(repeating: 0)
    private var finished = false
    /// The one line saying this connection is not (or not yet) a WebSocket session is printed.
    private var notedNonWebSocket = false

    init(conn: Int, client: Endpoint, listener: Endpoint, settings: Settings, writer: SinkWriter) {
        self.conn = conn
        self.settings = settings
        self.writer = writer
        formatter = ViolationFormatter(format: settings.format, style: settings.style)
        decoder = WebSocketTap(
            conn: "c\(conn)", client: client, server: listener, limits: settings.limits, maxFrameSize: settings.maxFrameSize,
            maxHeadSize: settings.maxHeadSize)
        checker = CaptureChecker(options: settings.check) { [unowned self] violation in
            if !settings.quiet { formatter.append(violation, into: &batch.output) }
            if settings.inspect { batch.inspected.append(.violation(violation)) }
            batch.counts.violations[CheckSummary.RuleCount(id: violation.rule.id, severity: violation.severity), default: 0] += 1
            if violation.severity == .error, let dir = violation.dir {
                if pending[dir].error == nil { pending[dir].error = violation }
            }
        }
        decoder.onBoundary = { [unowned self] dir, offset in boundary(dir, offset) }
        if settings.pcap {
            legs[0] = TCPPacketBuilder(client: client, server: listener)
            packets { legs[0]!.handshake() }
        }
    }

    var isWebSocket: Bool { decoder.phase == .webSocket }
    var deflate: DeflateParameters? { decoder.deflate }
    /// What each receiver has inflated lately (with permessage-deflate and context takeover): a
    /// compressor that must take over a direction starts from it.
    private(set) var windows = PerDirection(repeating: InflatedWindow())

    /// A compressed message reached its receiver: it is in the receiver's window now.
    func delivered(_ message: CaptureRecord) {
        guard let dir = message.dir, let deflate, !deflate.noContextTakeover(dir), message.frames?.first.map({ $0.rsv & 4 != 0 }) == true else { return }
        windows[dir].append(message.payload)
    }
    func isFollowing(_ dir: Direction) -> Bool { decoder.isFollowing(dir) }

    /// The upstream is connected: the `open` record names it, and its leg begins in the pcap.
    func connected(local: Endpoint, server: Endpoint) {
        decoder.connected(to: server)
        guard settings.pcap else { return }
        legs[1] = TCPPacketBuilder(client: local, server: server)
        packets { legs[1]!.handshake() }
    }

    /// Bytes read from one side, before they are relayed.
    func read(_ dir: Direction, _ buffer: ByteBuffer) {
        fed[dir] += buffer.readableBytes
        batch.counts.bytes[dir] += buffer.readableBytes
        if settings.pcap { wire(Self.leg(from: dir), dir, buffer) }
        try? decoder.data(dir, buffer.readableBytesView, timestamp: CaptureTime.nanoseconds(), sink: self)
        if !notedNonWebSocket && !decoder.opened && (decoder.phase == .ignored || decoder.summary.httpRequests > 0) {
            notedNonWebSocket = true
            // A server can die of a request it did not expect; the user should know one went by.
            batch.counts.nonWebSocket += 1
            if !settings.quiet {
                let what = if let request = decoder.firstPlainRequest {
                    "\(request) is not a WebSocket upgrade; relayed as it is, and followed in case an upgrade comes next"
                } else if decoder.summary.tlsStreams > 0 {
                    "TLS, but this listener speaks plain ws; relayed as it is, not inspected"
                } else {
                    "not a WebSocket upgrade; relayed as it is, not inspected"
                }
                batch.messages += Array("basetap: c\(conn): \(what)\n".utf8)
            }
        }
    }

    /// Bytes written to one side (what a peer really got): the pcap's other leg.
    func wrote(_ dir: Direction, _ buffer: ByteBuffer) {
        guard settings.pcap else { return }
        wire(Self.leg(from: dir.opposite), dir, buffer)
    }

    private func wire(_ leg: Int, _ dir: Direction, _ buffer: ByteBuffer) {
        guard legs[leg] != nil else { return }
        let bytes = Array(buffer.readableBytesView)
        packets { legs[leg]!.data(dir, bytes) }
    }

    private func packets(_ make: () -> [[UInt8]]) {
        let timestamp = CaptureTime.nanoseconds()
        for packet in make() {
            batch.packets.append((packet, timestamp))
            batch.packetBytes += packet.count
        }
    }

    /// A record the relay decided on (a held message released, edited, dropped, or injected).
    func recordDecided(_ record: CaptureRecord) {
        write(record)
    }

    /// A message basetap itself sent (an injection) is checked like any other.
    func checkInjected(_ record: CaptureRecord) {
        try? checker.consume(record)
    }

    /// Hands what this read produced to the writer.
    func flush() {
        guard !batch.isEmpty else { return }
        writer.submit(batch)
        batch = SinkWriter.Batch()
    }

    /// The connection is over. `droppedBy`: the side whose TCP end came first, when no Close was seen.
    func end(error: String?, droppedBy: Direction?) {
        guard !finished else { return }
        finished = true
        for leg in 0..<2 where legs[leg] != nil {
            packets { [legs[leg]!.fin(.c2s), legs[leg]!.fin(.s2c)] }
        }
        try? decoder.end(error: error, droppedBy: droppedBy, timestamp: CaptureTime.nanoseconds(), sink: self)
        checker.finish()
        flush()
        writer.finished(check: checker.summary, decode: decoder.summary)
    }

    private func boundary(_ dir: Direction, _ offset: Int) {
        lastBoundary[dir] = offset
        guard gated[dir] else { return }
        var unit = pending[dir]
        pending[dir] = Unit(end: offset)
        unit.end = offset
        onUnit?(dir, unit)
    }

    private func write(_ record: CaptureRecord) {
        if settings.inspect { batch.inspected.append(.record(record)) }
        if settings.record {
            record.appendJSONLine(into: &batch.records)
            batch.recordCount += 1
        }
        if settings.logMessages && record.kind != .end && !settings.quiet {
            batch.output.append(contentsOf: logLine(record).utf8)
        }
    }

    /// A record as the message log shows it: the upgrade with its headers, a message abbreviated.
    private func logLine(_ record: CaptureRecord) -> String {
        let secrets = settings.logSecrets
        let style = settings.style
        if record.kind == .open {
            let target = record.url.map { secrets ? $0 : SecretRedaction.target($0) } ?? ""
            let headers = (record.headers ?? []).map { header in
                "    \(header.name): \(secrets ? header.value : SecretRedaction.header(header.name, header.value))\n"
            }
            return style.dim("\(record.conn) open") + " GET \(target)\n" + headers.joined()
        }
        // Only the start of a message is shown; redacting a generous prefix of it keeps a huge message
        // cheap without cutting a secret value at the edge of what is shown.
        let body = record.kind.isMessage
            ? (record.text.map { JSONReader.abbreviate(secrets ? $0 : SecretRedaction.json(String($0.prefix(1 << 16))), limit: 160) } ?? "\(record.payload.count) bytes")
            : "\(record.code.map(String.init) ?? "")"
        let mark = record.control.map { " [\($0.rawValue)]" } ?? ""
        return style.dim("\(record.conn) \(record.dir?.rawValue ?? "") \(record.kind.rawValue)") + mark + " \(body)\n"
    }

    // MARK: TapSink

    func record(_ record: CaptureRecord) throws {
        if record.kind.isMessage, let dir = record.dir { batch.counts.messages[dir] += 1 }
        try checker.consume(record)
        if let dir = record.dir, gated[dir] {
            // Written when the relay has decided what became of it.
            if record.kind.isMessage { pending[dir].message = record } else { pending[dir].controls.append(record) }
            return
        }
        if record.kind.isMessage { delivered(record) }
        write(record)
    }

    func violation(conn: String, dir: Direction, rule: Rule, message: String, offset: Int) throws {
        try checker.reportWire(conn: conn, dir: dir, rule: rule, message: message, offset: offset)
    }
}

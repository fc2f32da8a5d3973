import Foundation

/// Everything the proxy does with the traffic besides relaying it, on one serial queue: decoding
/// (the same `ConnectionDecoder` as for pcap files), checking, printing findings, and recording
/// to JSONL and pcap. The relay only hands bytes over; a slow disk or checker never holds it up.
final class Inspector: @unchecked Sendable {
    struct Options {
        var check = CheckOptions()
        var format = OutputFormat.text
        var style = Style(enabled: false)
        var logMessages = false
        /// Print credentials in the message log as they are (`--log-secrets`).
        var logSecrets = false
        var quiet = false
        var record: String?
        var pcap: String?
        var limits = InflateLimits()
        var maxFrameSize = FrameParser.defaultMaxFrameSize
        var maxHeadSize = HTTPHeadReader.defaultMaxHeadSize
        /// Called (on the inspector's queue) for each error-level finding, with the connection number.
        var onError: (@Sendable (Int, Violation) -> Void)?
        /// Called once (on the inspector's queue) when writing a recording first fails.
        var onRecordError: (@Sendable (String) -> Void)?
    }

    private struct Connection {
        var decoder: ConnectionDecoder
        var packets: TCPPacketBuilder
        /// The first failure seen on either side, for the `end` record.
        var failure: String?
        /// The side whose TCP end basetap saw first; nil while open, or when basetap itself ended it.
        var endedBy: Direction?
        var endedByBasetap = false
    }

    let queue = DispatchQueue(label: "basetap.inspector")
    /// Bytes handed over but not inspected yet, and reads waiting for that to shrink.
    static let highWater = 32 << 20
    static let lowWater = 8 << 20
    private let backlogLock = NSLock()
    private var backlog = 0
    private var waiting: [@Sendable () -> Void] = []
    private let options: Options
    private let output: OutputFile
    private var checker: CaptureChecker!
    private var recorder: JSONLCaptureWriter?
    private var pcap: PcapWriter?
    private var connections: [Int: Connection] = [:]
    private(set) var summary = DecodeSummary()
    /// Bytes and messages per direction (c2s, s2c), for --metrics.
    private var bytesSeen = [0, 0]
    private var messagesSeen = [0, 0]
    private(set) var recordsWritten = 0
    private(set) var recordError: String?
    private let formatter: ViolationFormatter

    private let messages: OutputFile

    init(options: Options, output: OutputFile = .standardOutput, messages: OutputFile = .standardError) throws {
        self.options = options
        self.output = output
        self.messages = messages
        formatter = ViolationFormatter(format: options.format, style: options.style)
        recorder = try options.record.map { try JSONLCaptureWriter(path: $0) }
        pcap = try options.pcap.map { try PcapWriter(path: $0) }
        let formatter = self.formatter
        let quiet = options.quiet
        let onError = options.onError
        checker = CaptureChecker(options: options.check) { [output] violation in
            if !quiet {
                try output.append { formatter.append(violation, into: &$0) }
                try output.flush()
            }
            if violation.severity == .error, let onError, let conn = Int(violation.conn.dropFirst()) { onError(conn, violation) }
        }
    }

    func open(_ conn: Int, client: Endpoint, server: Endpoint) {
        queue.async { [self] in
            let decoder = ConnectionDecoder(
                conn: "c\(conn)", client: client, server: server, limits: options.limits, maxFrameSize: options.maxFrameSize,
                maxHeadSize: options.maxHeadSize)
            var packets = TCPPacketBuilder(client: client, server: server)
            for packet in packets.handshake() { writePacket(packet) }
            connections[conn] = Connection(decoder: decoder, packets: packets)
        }
    }

    var isBacklogged: Bool {
        backlogLock.lock()
        defer { backlogLock.unlock() }
        return backlog > Self.highWater
    }

    /// Runs `resume` once the backlog is under the low-water mark and returns true, or returns
    /// false at once when the backlog is fine.
    func whenBelowLowWater(_ resume: @escaping @Sendable () -> Void) -> Bool {
        backlogLock.lock()
        defer { backlogLock.unlock() }
        guard backlog > Self.highWater else { return false }
        waiting.append(resume)
        return true
    }

    private func drained(_ count: Int) {
        backlogLock.lock()
        backlog -= count
        let ready = backlog < Self.lowWater ? waiting : []
        if !ready.isEmpty { waiting.removeAll() }
        backlogLock.unlock()
        for resume in ready { resume() }
    }

    func bytes(_ conn: Int, _ dir: Direction, _ bytes: [UInt8]) {
        backlogLock.lock()
        backlog += bytes.count
        backlogLock.unlock()
        queue.async { [self] in
            defer { drained(bytes.count) }
            bytesSeen[dir == .c2s ? 0 : 1] += bytes.count
            guard connections[conn] != nil else { return }
            for packet in connections[conn]!.packets.data(dir, bytes) { writePacket(packet) }
            try? connections[conn]!.decoder.data(dir, bytes, timestamp: CaptureTime.nanoseconds(), sink: self)
        }
    }

    /// A connection error (a reset, a timeout), kept for the connection's `end` record and logged.
    /// `byBasetap`: basetap ends the connection itself (idle timeout, --block), so no peer dropped it.
    func failure(_ conn: Int, _ text: String, byBasetap: Bool = false) {
        queue.async { [self] in
            guard connections[conn] != nil else { return }
            if byBasetap { connections[conn]!.endedByBasetap = true }
            guard connections[conn]!.failure == nil else { return }
            connections[conn]!.failure = text
            if !options.quiet { try? messages.write("basetap: c\(conn): \(text)\n") }
        }
    }

    /// One side's TCP input ended (FIN, reset or close); the first such side is the one that ended the connection.
    func inputEnded(_ conn: Int, _ dir: Direction) {
        queue.async { [self] in
            guard connections[conn] != nil, connections[conn]!.endedBy == nil else { return }
            connections[conn]!.endedBy = dir
        }
    }

    /// basetap is stopping and closes the connection itself.
    func stopping(_ conn: Int) {
        queue.async { [self] in
            guard connections[conn] != nil else { return }
            connections[conn]!.endedByBasetap = true
        }
    }

    func end(_ conn: Int, error: String?) {
        queue.async { [self] in
            guard var connection = connections.removeValue(forKey: conn) else { return }
            writePacket(connection.packets.fin(.c2s))
            writePacket(connection.packets.fin(.s2c))
            let droppedBy = connection.endedByBasetap ? nil : connection.endedBy
            try? connection.decoder.end(error: error ?? connection.failure, droppedBy: droppedBy, timestamp: CaptureTime.nanoseconds(), sink: self)
            summary.merge(connection.decoder.summary)
            summary.tcpStreams += 1
        }
    }

    /// Waits for everything queued, then flushes and closes the recordings. Returns the check summary.
    func finish() -> CheckSummary {
        queue.sync {
            for conn in connections.keys.sorted() {
                let connection = connections[conn]!
                try? connection.decoder.end(error: "basetap stopped", timestamp: CaptureTime.nanoseconds(), sink: self)
                summary.merge(connection.decoder.summary)
            }
            connections.removeAll()
            do { try recorder?.close() } catch { recordFailed(error, options.record) }
            do { try pcap?.close() } catch { recordFailed(error, options.pcap) }
            try? output.flush()
            checker.finish()
            return checker.summary
        }
    }

    /// Prometheus text exposition of what the inspector has seen so far.
    func metrics(connectionsAccepted: Int, connectionsOpen: Int) -> String {
        backlogLock.lock()
        let backlogNow = backlog
        backlogLock.unlock()
        return queue.sync {
            var lines: [String] = []
            func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Int)]) {
                lines.append("# HELP basetap_\(name) \(help)")
                lines.append("# TYPE basetap_\(name) \(type)")
                for (labels, value) in samples { lines.append("basetap_\(name)\(labels) \(value)") }
            }
            metric("connections_total", "counter", "Client connections accepted.", [("", connectionsAccepted)])
            metric("connections_open", "gauge", "Client connections open now.", [("", connectionsOpen)])
            metric("websocket_connections_total", "counter", "Connections upgraded to WebSocket (closed ones).", [("", summary.webSocketConnections)])
            metric("messages_total", "counter", "WebSocket messages relayed and inspected.", [("{dir=\"c2s\"}", messagesSeen[0]), ("{dir=\"s2c\"}", messagesSeen[1])])
            metric("bytes_total", "counter", "Bytes relayed.", [("{dir=\"c2s\"}", bytesSeen[0]), ("{dir=\"s2c\"}", bytesSeen[1])])
            let byRule = checker.summary.byRule.sorted { $0.key < $1.key }.map { rule, count in
                ("{rule=\"\(rule.id)\",severity=\"\(rule.severity.rawValue)\"}", count)
            }
            metric("violations_total", "counter", "Rule violations found, by rule.", byRule)
            metric("inspector_backlog_bytes", "gauge", "Bytes relayed but not yet inspected (the queue depth).", [("", backlogNow)])
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// The first failure to write a recording is kept for the exit status and reported once.
    private func recordFailed(_ error: Error, _ path: String?) {
        guard recordError == nil else { return }
        recordError = "\(path ?? "recording"): \(error)"
        options.onRecordError?(recordError!)
    }

    /// A record as the message log shows it: the upgrade with its headers, a message abbreviated.
    private func logLine(_ record: CaptureRecord) -> String {
        let secrets = options.logSecrets
        if record.kind == .open {
            let target = record.url.map { secrets ? $0 : SecretRedaction.target($0) } ?? ""
            let headers = (record.headers ?? []).map { header in
                "    \(header.name): \(secrets ? header.value : SecretRedaction.header(header.name, header.value))\n"
            }
            return options.style.dim("\(record.conn) open") + " GET \(target)\n" + headers.joined()
        }
        // Only the start of a message is shown; redacting a generous prefix of it keeps a huge message
        // cheap without cutting a secret value at the edge of what is shown.
        let body = record.kind.isMessage
            ? (record.text.map { JSONReader.abbreviate(secrets ? $0 : SecretRedaction.json(String($0.prefix(1 << 16))), limit: 160) } ?? "\(record.payload.count) bytes")
            : "\(record.code.map(String.init) ?? "")"
        return options.style.dim("\(record.conn) \(record.dir?.rawValue ?? "") \(record.kind.rawValue)") + " \(body)\n"
    }

    private func writePacket(_ packet: [UInt8]) {
        guard let pcap else { return }
        do { try pcap.write(ipPacket: packet, timestamp: CaptureTime.nanoseconds()) } catch { recordFailed(error, options.pcap) }
    }

}

extension Inspector: DecodeSink {
    func record(_ record: CaptureRecord) throws {
        if record.kind.isMessage { messagesSeen[record.dir == .c2s ? 0 : 1] += 1 }
        do {
            try recorder?.write(record)
            if recorder != nil { recordsWritten += 1 }
        } catch {
            recordFailed(error, options.record)
        }
        if options.logMessages && record.kind != .end && !options.quiet {
            try output.write(logLine(record))
            try output.flush()
        }
        try checker.consume(record)
    }

    func violation(conn: String, dir: Direction, rule: Rule, message: String, offset: Int) throws {
        try checker.reportWire(conn: conn, dir: dir, rule: rule, message: message, offset: offset)
    }
}

import Foundation

/// `basetap decode`: a pcap, pcapng or HAR file to the JSONL capture format, or any capture to a HAR.
public struct DecodeRun {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl, har
    }

    public var path: String
    /// Where the capture goes; "-" for standard output.
    public var output = "-"
    public var format = Format.jsonl
    /// Keep only connections whose id contains this text (e.g. ":8080" or "10.0.0.2:51234>").
    public var connFilter: String?
    /// Keep only the messages that match (open, end and control frames stay); checked first when
    /// the filter asks about rules.
    public var filter: MessageFilter?
    public var check = CheckOptions()
    public var options = PcapDecoder.Options()
    public var messages: OutputFile = .standardError
    public var progress: OutputFile?

    public init(path: String) {
        self.path = path
    }

    public func run() throws -> DecodeSummary {
        let kind = try CaptureFileKind.detect(path: path)
        guard kind != .jsonl || format == .har else {
            throw BasetapError.input(place: path, message: "not a pcap, pcapng or HAR file (JSONL captures need no decoding; --format har writes one as a HAR)")
        }
        let writer: RecordWriter = format == .har ? try HARWriter(path: output) : try JSONLCaptureWriter(path: output)
        let sink = WriterSink(writer: writer, messages: filter, check: check)
        var summary = DecodeSummary()
        do {
            switch kind {
            case .pcap, .pcapng:
                summary = try decodePcap(into: sink)
            case .har, .jsonl:
                // Already messages: they go to the writer as they are, through the same filters.
                let records = kind == .har ? try HARReader.read(path: path).records : try JSONLCaptureReader(path: path).readAll()
                for record in records where connFilter.map(record.conn.contains) ?? true {
                    try sink.record(record)
                    if record.kind == .open { summary.webSocketConnections += 1 }
                    if record.kind.isMessage { summary.messages += 1 }
                    if record.kind.hasDirection && !record.kind.isMessage { summary.controlFrames += 1 }
                }
            }
        } catch {
            try? writer.close()  // keep what was decoded before the failure
            throw error
        }
        try writer.close()
        var text = kind == .pcap || kind == .pcapng ? Self.describe(summary)
            : "Read \(ViolationFormatter.count(summary.webSocketConnections, "WebSocket connection")), \(ViolationFormatter.count(summary.messages, "message")), \(ViolationFormatter.count(summary.controlFrames, "control frame"))"
        if sink.violations > 0 {
            text += "\n\(ViolationFormatter.count(sink.violations, "WebSocket or TCP finding")) on the wire; 'basetap check \(path)' lists them"
        }
        try messages.write(text + "\n")
        if let truncation = summary.truncation {
            try messages.write("basetap: \(truncation); what came before was decoded\n")
        }
        try messages.flush()
        return summary
    }

    private func decodePcap(into sink: WriterSink) throws -> DecodeSummary {
        let meter = progress.map { ProgressMeter(output: $0, label: "decoding \(path)", total: nil) }
        var options = self.options
        options.connections = connFilter
        let summary = try PcapDecoder(sink: sink, options: options).decode(path: path) { meter?.update(done: $0, detail: "\(sink.records) records") }
        meter?.finish()
        return summary
    }

    public static func describe(_ s: DecodeSummary) -> String {
        func n(_ count: Int, _ noun: String) -> String { ViolationFormatter.count(count, noun) }
        var parts = [
            n(s.tcpStreams, "TCP stream"), n(s.webSocketConnections, "WebSocket connection"), n(s.messages, "message"),
            n(s.controlFrames, "control frame"),
        ]
        if s.gaps > 0 { parts.append("\(n(s.gaps, "gap")) (\(s.gapBytes) bytes missing)") }
        if s.overlapConflicts > 0 { parts.append(n(s.overlapConflicts, "conflicting retransmission")) }
        for (how, count) in s.tlsDecrypted.sorted(by: { $0.key < $1.key }) { parts.append("\(n(count, "TLS stream")) decrypted (\(how))") }
        for (why, count) in s.tlsNotDecrypted.sorted(by: { $0.key < $1.key }) { parts.append("\(n(count, "TLS stream")) skipped (\(why))") }
        for (past, count) in s.tlsLost.sorted(by: { $0.key < $1.key }) { parts.append("\(n(count, "TLS direction")) not decrypted past \(past)") }
        if s.midstreamSkipped > 0 { parts.append("\(n(s.midstreamSkipped, "mid-stream connection")) skipped (no upgrade seen)") }
        if s.otherStreams > 0 { parts.append(n(s.otherStreams, "non-WebSocket stream")) }
        if s.httpRequests > 0 { parts.append(n(s.httpRequests, "plain HTTP request")) }
        if s.skippedBytes > 0 { parts.append("\(s.skippedBytes) bytes not followed") }
        if s.clampedTimestamps > 0 { parts.append("\(n(s.clampedTimestamps, "timestamp")) out of range (before 1970, past 2262, or a wrong time resolution) and clamped") }
        for (tunnel, count) in s.tunnelledPackets.sorted(by: { $0.key < $1.key }) {
            parts.append("\(n(count, "packet")) from inside \(tunnel)")
        }
        let selection = s.selection.map { " (connections matching --conn \"\($0)\")" } ?? ""
        var text = "Decoded \(n(s.packets, "packet"))\(selection): " + parts.joined(separator: ", ")
        if !s.unreadPackets.isEmpty {
            let kinds = s.unreadPackets.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            let shown = kinds.prefix(5).map { $0.key.counted($0.value) }
            let more = kinds.count > 5 ? ", and \(kinds.count - 5) other kinds" : ""
            text += "; not read: " + shown.joined(separator: ", ") + more
        }
        return text
    }

    private final class WriterSink: TapSink {
        let writer: RecordWriter
        let messages: MessageFilter?
        /// Only when `messages` asks about rules: the violations of the message being decoded.
        var checker: CaptureChecker?
        var found: [Violation] = []
        var records = 0
        var violations = 0

        init(writer: RecordWriter, messages: MessageFilter?, check: CheckOptions) {
            self.writer = writer
            self.messages = messages
            if messages?.needsViolations == true {
                checker = CaptureChecker(options: check) { [unowned self] in found.append($0) }
            }
        }

        func record(_ record: CaptureRecord) throws {
            try checker?.consume(record)
            defer { if record.kind.isMessage { found.removeAll() } }
            if let messages, record.kind.isMessage, !messages.matches(record, violations: found) { return }
            try writer.write(record)
            records += 1
        }

        func violation(conn: String, dir: Direction, rule: Rule, message: String, offset: Int) throws {
            try checker?.reportWire(conn: conn, dir: dir, rule: rule, message: message, offset: offset)
            violations += 1
        }
    }
}

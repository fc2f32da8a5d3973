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
    /// Decoders at once on a pcap or pcapng file written as JSONL, each following its share of the
    /// connections (`--jobs`).
    public var jobs = 1

    public init(path: String) {
        self.path = path
    }

    public func run() throws -> DecodeSummary {
        let kind = try CaptureFileKind.detect(path: path)
        guard kind != .jsonl || format == .har else {
            throw BasetapError.input(place: path, message: "not a pcap, pcapng or HAR file (JSONL captures need no decoding; --format har writes one as a HAR)")
        }
        let writer: RecordWriter = format == .har ? try HARWriter(path: output) : try JSONLCaptureWriter(path: output)
        var sinks = [WriterSink(writer: writer, messages: filter, check: check)]
        var summary = DecodeSummary()
        do {
            switch kind {
            case .pcap, .pcapng:
                if jobs > 1, let jsonl = writer as? JSONLCaptureWriter, CaptureFileKind.isRegularFile(path) {
                    (summary, sinks) = try decodePcapInParallel(into: jsonl)
                } else {
                    summary = try decodePcap(into: sinks[0])
                }
            case .har, .jsonl:
                // Already messages: they go to the writer as they are, through the same filters.
                let records = kind == .har ? try HARReader.read(path: path).records : try JSONLCaptureReader(path: path).readAll()
                for record in records where connFilter.map(record.conn.contains) ?? true {
                    try sinks[0].record(record)
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
        let violations = sinks.reduce(0) { $0 + $1.violations }
        if violations > 0 {
            text += "\n\(ViolationFormatter.count(violations, "WebSocket or TCP finding")) on the wire; 'basetap check \(path)' lists them"
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
        let summary = try PcapDecoder(sink: sink, options: pcapOptions).decode(path: path) { meter?.update(done: $0, detail: "\(sink.records) records") }
        meter?.finish()
        return summary
    }

    /// `jobs` decoders, each following its share of the connections into lines of its own, written
    /// in the order one decoder writes them.
    private func decodePcapInParallel(into writer: JSONLCaptureWriter) throws -> (DecodeSummary, [WriterSink]) {
        let outputs = (0..<jobs).map { _ in ParallelPcap.Output() }
        let sinks = outputs.map { WriterSink(writer: LineBuffer(output: $0), messages: filter, check: check) }
        let meter = progress.map { ProgressMeter(output: $0, label: "decoding \(path)", total: nil) }
        var summary = DecodeSummary()
        try ParallelPcap(options: pcapOptions, sinks: sinks, outputs: outputs).run(
            [path], write: writer.writeEncoded,
            progress: { _, packets in meter?.update(done: packets, detail: "\(sinks.reduce(0) { $0 + $1.records }) records") },
            done: { _, decoded in summary = decoded })
        meter?.finish()
        return (summary, sinks)
    }

    private var pcapOptions: PcapDecoder.Options {
        var options = self.options
        options.connections = connFilter
        return options
    }

    /// Records as JSONL lines in a decoder's output.
    private final class LineBuffer: RecordWriter {
        let output: ParallelPcap.Output
        init(output: ParallelPcap.Output) { self.output = output }
        func write(_ record: CaptureRecord) throws { record.appendJSONLine(into: &output.bytes) }
        func close() throws {}
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

import Foundation

/// The parsers that read untrusted bytes, each as one function of arbitrary input: the entry points
/// of the libFuzzer harnesses (`make fuzz-self`) and of the smoke test CI runs. Errors are fine;
/// a trap, a hang or an unbounded allocation is a bug.
public enum FuzzTargets {
    public static let all: [(name: String, run: @Sendable ([UInt8]) -> Void)] = [
        ("json-reader", jsonReader), ("entity-id", entityID), ("websocket-frames", webSocketFrames),
        ("pcap", pcap), ("jsonl-capture", jsonlCapture), ("profile", profile), ("tls-records", tlsRecords),
    ]

    /// The inspection JSON reader at a small depth limit, then a value built and serialized from it.
    public static func jsonReader(_ bytes: [UInt8]) {
        var reader = JSONReader(maxDepth: 64)
        _ = bytes.withUnsafeBytes { raw in reader.withParsed(raw) { view, issues in (JSONValue(view, 0).serialized().count, issues.count) } }
    }

    public static func entityID(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { EntityID.validate($0) }
    }

    /// The first byte picks the deflate parameters; the rest is a client's frame stream.
    public static func webSocketFrames(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let offers = [nil, "permessage-deflate", "permessage-deflate; client_no_context_takeover", "permessage-deflate; client_max_window_bits=9"]
        var parser = FrameParser(maxFrameSize: 1 << 16)
        var assembler = MessageAssembler(direction: .c2s, deflate: DeflateParameters.negotiated(offers[Int(first) % offers.count]), limits: limits)
        parser.append(bytes.dropFirst())
        while let frame = try? parser.next() { _ = assembler.consume(frame) }
    }

    /// The bytes as a pcap or pcapng file through libpcap, IP, TCP reassembly, HTTP and WebSocket.
    public static func pcap(_ bytes: [UInt8]) {
        let path = scratchDirectory + "/input-\(getpid()).pcap"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return }
        defer { unlink(path) }
        var options = PcapDecoder.Options()
        options.maxPendingBytes = 1 << 16
        options.maxFrameSize = 1 << 16
        options.inflate = limits
        _ = try? PcapDecoder(sink: CollectingSink(), options: options).decode(path: path)
    }

    public static func jsonlCapture(_ bytes: [UInt8]) {
        let reader = JSONLCaptureReader(bytes: bytes, name: "fuzz")
        reader.malformed = MalformedLines(skip: true)
        try? reader.forEach { line in
            var checker = CaptureChecker { _ in }
            try? checker.consume(line)
        }
    }

    /// A profile document (JSON or YAML) compiled, then used on a message.
    public static func profile(_ bytes: [UInt8]) {
        guard let document = try? ProfileDocument.parse(bytes, source: "fuzz"),
            let profile = try? Profile(document: document, source: "fuzz")
        else { return }
        var options = CheckOptions()
        options.profile = profile
        var checker = CaptureChecker(options: options) { _ in }
        try? checker.consume(.text(#"{"id":"1","type":"auth.login","from":"","to":"","payload":{"password":"x","n":[1,2]}}"#, conn: "c1", dir: .c2s))
    }

    /// One TLS connection's two byte streams through the decryptor, whose key log knows the session
    /// of the client random 5A…5A (TLS 1.3 secrets and a TLS 1.2 master secret): the input is chunks,
    /// each a two-byte header (the top bit the direction, the rest the length) and its bytes.
    public static func tlsRecords(_ bytes: [UInt8]) {
        var decryptor = TLSDecryptor(keyLog: tlsKeyLog)
        var rest = bytes[...]
        while rest.count >= 2 {
            let header = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
            rest = rest.dropFirst(2)
            let chunk = rest.prefix(header & 0x7FFF)
            rest = rest.dropFirst(chunk.count)
            _ = decryptor.feed(header & 0x8000 == 0 ? .c2s : .s2c, chunk)
        }
    }

    static let tlsKeyLog: TLSKeyLog = {
        let random = String(repeating: "5a", count: 32)
        var log = TLSKeyLog()
        try? log.add(Array("""
            CLIENT_RANDOM \(random) \(String(repeating: "11", count: 48))
            CLIENT_HANDSHAKE_TRAFFIC_SECRET \(random) \(String(repeating: "22", count: 32))
            SERVER_HANDSHAKE_TRAFFIC_SECRET \(random) \(String(repeating: "33", count: 32))
            CLIENT_TRAFFIC_SECRET_0 \(random) \(String(repeating: "44", count: 32))
            SERVER_TRAFFIC_SECRET_0 \(random) \(String(repeating: "55", count: 32))
            """.utf8)[...], place: "fuzz")
        return log
    }()

    /// Small limits, so that an input near one is found quickly and a run stays in little memory.
    static var limits: InflateLimits {
        var limits = InflateLimits()
        limits.maxSize = 1 << 18
        limits.maxRatio = 100
        return limits
    }

    /// Where the pcap harness writes its input: memory-backed when the system has it.
    static let scratchDirectory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
}

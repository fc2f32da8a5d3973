import Foundation

/// `basetap view`: serves the web inspector for captures (JSONL, pcap, pcapng), read-only, with
/// the checker's findings. The server answers at once; the captures are read behind it, and the
/// page shows what has been read so far.
public struct ViewRun {
    public var paths: [String]
    public var listen = ProxyTarget(host: "127.0.0.1", port: 8081, tls: false)
    public var token: String?
    public var check = CheckOptions()
    public var pcapOptions = PcapDecoder.Options()
    public var messages: OutputFile

    public init(paths: [String], messages: OutputFile = .standardError) {
        self.paths = paths
        self.messages = messages
    }

    /// Starts the server and the reading; the caller stops the server.
    /// Serves the inspector, says where, and reads the captures behind it. The banner is written
    /// before the reader starts: both write to standard error, one after the other.
    public func start() throws -> InspectorServer {
        for path in paths where !FileManager.default.isReadableFile(atPath: path) {
            throw BasetapError.input(place: path, message: "cannot open: no such readable file")
        }
        let store = InspectorStore()
        let server = try InspectorServer(store: store, proxy: nil, listen: listen, token: token, flag: "--listen")
        try? messages.write("basetap: inspector for \(paths.joined(separator: ", ")) on \(server.url) (Ctrl-C to stop)\n")
        try? messages.flush()
        store.isLoading = true
        let (paths, check, pcapOptions, messages) = (self.paths, self.check, self.pcapOptions, self.messages)
        Thread {
            defer { store.isLoading = false }
            do {
                try Self.load(paths, into: store, check: check, pcapOptions: pcapOptions, messages: messages)
                try? messages.write("basetap: all \(store.records) records read\n")
                try? messages.flush()
            } catch {
                try? messages.write("basetap: \(error)\n")
                try? messages.flush()
            }
        }.start()
        return server
    }

    /// Reads every capture into `store` the way `check` reads it: records in order, each
    /// violation right after the checker finds it. What a pcap held that could not be shown (TLS
    /// without keys, gaps) is said on `messages`, as `check` says it.
    static func load(_ paths: [String], into store: InspectorStore, check: CheckOptions, pcapOptions: PcapDecoder.Options, messages: OutputFile) throws {
        var checker = CaptureChecker(options: check) { store.add($0) }
        for path in paths {
            switch try CaptureFileKind.detect(path: path) {
            case .jsonl:
                try JSONLCaptureReader(path: path).forEach { line in
                    try checker.consume(line)
                    store.add(try line.record())
                }
            case .har:
                for record in try HARReader.read(path: path).records {
                    try checker.consume(record)
                    store.add(record)
                }
            case .pcap, .pcapng:
                let sink = StoringSink(checker: checker, store: store)
                let decoded = try PcapDecoder(sink: sink, options: pcapOptions).decode(path: path) { _ in }
                checker = sink.checker
                if decoded.leftSomethingOut {
                    try? messages.write("basetap: \(path): \(DecodeRun.describe(decoded))\n")
                    try? messages.flush()
                }
            }
        }
        checker.finish()
    }

    /// Runs until SIGINT or SIGTERM.
    public func run() throws {
        let stop = StopSignal()
        let server = try start()
        stop.wait()
        server.stop()
    }
}

/// A pcap's records and findings, checked and stored as they are decoded.
final class StoringSink: TapSink {
    var checker: CaptureChecker
    let store: InspectorStore

    init(checker: CaptureChecker, store: InspectorStore) {
        self.checker = checker
        self.store = store
    }

    func record(_ record: CaptureRecord) throws {
        try checker.consume(record)
        store.add(record)
    }

    func violation(conn: String, dir: Direction, rule: Rule, message: String, offset: Int) throws {
        try checker.reportWire(conn: conn, dir: dir, rule: rule, message: message, offset: offset)
    }
}

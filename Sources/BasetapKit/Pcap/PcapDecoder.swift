/// Decodes a pcap or pcapng file into capture records: packets → IP → TCP streams put back in
/// order → HTTP upgrades → WebSocket frames → messages. WebSocket connections are found by their
/// upgrade, on any port.
public final class PcapDecoder {
    public struct Options: Sendable {
        public var maxPendingBytes = TCPStreamReassembler.defaultMaxPendingBytes
        public var maxFrameSize = FrameParser.defaultMaxFrameSize
        public var inflate = InflateLimits()
        public var maxHeadSize = HTTPHeadReader.defaultMaxHeadSize
        /// zlib states kept awake at once across connections (see `InflaterBudget`).
        public var maxAwakeInflaters = InflaterBudget.defaultLimit
        /// Only the connections whose id contains this text are decoded and counted (`--conn`).
        public var connections: String?
        /// Secrets that decrypt TLS connections (`--tls-keylog`); a pcapng's Decryption Secrets Blocks add theirs.
        public var tlsKeyLog = TLSKeyLog()

        public init() {}
    }

    private struct FlowKey: Hashable {
        var a: Endpoint
        var b: Endpoint

        init(_ x: Endpoint, _ y: Endpoint) {
            // Both directions of a flow share one key.
            if (x.address.lexicographicallyPrecedes(y.address)) || (x.address == y.address && x.port <= y.port) {
                (a, b) = (x, y)
            } else {
                (a, b) = (y, x)
            }
        }
    }

    private final class Flow {
        var client: Endpoint
        var server: Endpoint
        var clientISN: UInt32?
        /// Began before the capture: roles are unknown until its first bytes show an HTTP request or response.
        var midstream: Bool
        var streams: PerDirection<TCPStreamReassembler>
        var finished = PerDirection(repeating: false)
        /// The side whose FIN came first: it ended the connection.
        var firstToEnd: Direction?
        var tap: FlowTap?
        /// A mid-stream connection whose first bytes were not HTTP.
        var skipped = false
        /// Not one of the connections asked for: passed over, and not counted.
        var unselected = false

        init(client: Endpoint, server: Endpoint, midstream: Bool, maxPending: Int) {
            self.client = client
            self.server = server
            self.midstream = midstream
            streams = PerDirection(repeating: TCPStreamReassembler(maxPendingBytes: maxPending))
        }
    }

    public let options: Options
    /// Where the connections' WebSocket sides run.
    private let worker: TapWorker
    /// With several decoders on one file (see `ParallelPcap`), the one this is: it reads every
    /// packet and follows the connections whose addresses and ports hash to it.
    private let share: (index: Int, of: Int)?
    private var flows: [FlowKey: Flow] = [:]
    /// Connections closed by FIN both ways or a reset: what comes after on the same addresses and
    /// ports without a SYN (a retransmitted FIN, a late copy of data) is theirs, not a new
    /// connection that began before the capture. The oldest are forgotten past `closedMemory`.
    private var closed: Set<FlowKey> = []
    private var closedOrder: [FlowKey] = []
    private var closedOrderHead = 0
    private static let closedMemory = 65_536
    private var connectionNumbers: [String: Int] = [:]
    private var reader = PacketReader()
    private var keyLog: TLSKeyLog
    public private(set) var summary = DecodeSummary()
    private var lastTimestamp: Int64 = 0
    private var file: PcapFile?

    public convenience init(sink: TapSink, options: Options = Options()) {
        self.init(worker: TapWorker(sink: sink, maxAwakeInflaters: options.maxAwakeInflaters), options: options)
    }

    init(worker: TapWorker, options: Options, share: (index: Int, of: Int)? = nil) {
        self.worker = worker
        self.options = options
        self.share = share
        keyLog = options.tlsKeyLog
    }

    /// Whether this decoder follows the connection. Both directions, and every connection on the
    /// same addresses and ports (which share a connection id but for its `#n`), go to one decoder.
    private func follows(_ key: FlowKey) -> Bool {
        guard let share else { return true }
        let addresses = key.a.address.withUnsafeBytes { ByteHash.of($0) } &* 31 &+ key.b.address.withUnsafeBytes { ByteHash.of($0) }
        var h = addresses ^ UInt64(key.a.port) << 16 ^ UInt64(key.b.port)
        h = (h ^ h >> 33) &* 0xFF51_AFD7_ED55_8CCD
        return Int((h ^ h >> 33) % UInt64(share.of)) == share.index
    }

    /// Decodes a whole file. A damaged file is decoded up to the damage, which `summary.truncation`
    /// then names; a file with no readable packet at all throws.
    public func decode(path: String, progress: ((Int) -> Void)? = nil) throws -> DecodeSummary {
        try open(path: path)
        while try read(packets: Int.max, progress: progress) {}
        try finishAll()
        return finishedSummary()
    }

    /// Starts on the file (a decoder reads one).
    func open(path: String) throws {
        file = try PcapFile(path: path)
        keyLog.merge(try PcapngSecrets.keyLog(path: path))
    }

    /// Reads up to `packets` packets of the open file; false once it is all read (or damaged).
    func read(packets: Int, progress: ((Int) -> Void)? = nil) throws -> Bool {
        guard let file else { return false }
        for _ in 0..<packets {
            let packet: PcapFile.Packet?
            do {
                packet = try file.next()
            } catch let error as BasetapError {
                if summary.packets == 0 { throw error }
                summary.truncation = error.description
                return false
            }
            guard let packet else { return false }
            summary.packets += 1
            lastTimestamp = packet.timestamp
            try handle(packet, linkType: file.linkType)
            if summary.packets & 0x3FFF == 0 { progress?(summary.packets) }
        }
        return true
    }

    /// The file's summary, its taps' counts merged in, once every connection has ended.
    func finishedSummary() -> DecodeSummary {
        var summary = self.summary
        summary.merge(worker.summary)
        worker.summary = DecodeSummary()
        summary.clampedTimestamps = file?.clampedTimestamps ?? 0
        summary.selection = options.connections
        if options.connections == nil {  // packets that are no connection's, or any connection's
            summary.unreadPackets = reader.unread
            summary.tunnelledPackets = reader.tunnelled
        }
        return summary
    }

    /// Runs a step of a connection's tap on the worker, and tells the worker where in the file it was.
    private func step(_ tap: FlowTap, _ body: (FlowTap) throws -> Void) throws {
        try body(tap)
        worker.afterStep?(sequence, tap.decoder.conn)
    }

    /// Orders the work: the packet being handled, then (one past the last) the connections the
    /// file's end finishes.
    private var sequence: Int { summary.packets + (finishing ? 1 : 0) }
    private var finishing = false

    private func handle(_ packet: PcapFile.Packet, linkType: Int32) throws {
        guard let segment = reader.segment(packet.data, linkType: linkType) else { return }
        let key = FlowKey(segment.source, segment.destination)
        guard follows(key) else { return }
        var flow = flows[key]
        if flow == nil && closed.contains(key) {
            guard segment.syn else { return }
            closed.remove(key)  // the addresses and ports are used again
        }
        if segment.syn && !segment.ack {
            if let existing = flow, existing.clientISN != nil, existing.clientISN != segment.sequence {
                try finish(key, existing, error: nil, timestamp: packet.timestamp)  // the 4-tuple is reused
                flow = nil
            }
            if flow == nil { flow = newFlow(key, client: segment.source, server: segment.destination, midstream: false) }
            if flow!.clientISN == nil {
                flow!.clientISN = segment.sequence
                flow!.streams.c2s.syn(segment.sequence)
            }
        } else if segment.syn {
            if flow == nil { flow = newFlow(key, client: segment.destination, server: segment.source, midstream: false) }
            flow!.streams[flow!.server == segment.source ? .s2c : .c2s].syn(segment.sequence)
        } else if flow == nil {
            guard !segment.payload.isEmpty || segment.fin else { return }
            flow = newFlow(key, client: segment.source, server: segment.destination, midstream: true)
        }
        guard let flow else { return }
        if flow.midstream && flow.tap == nil && !segment.payload.isEmpty { settleRoles(flow, sender: segment.source, payload: segment.payload) }
        let dir: Direction = segment.source == flow.client ? .c2s : .s2c
        if let tap = flow.tap, tap.decoder.phase != .ignored {
            let events = flow.streams[dir].segment(segment.sequence, segment.payload)
            try step(tap) { try $0.segment(dir, events, timestamp: packet.timestamp, on: worker) }
        } else if !flow.unselected {
            summary.skippedBytes += segment.payload.count
        }
        if segment.rst {
            try finish(key, flow, error: "connection reset by the \(dir.sender)", droppedBy: flow.firstToEnd ?? dir, timestamp: packet.timestamp)
            remember(closed: key)
        } else if segment.fin {
            flow.finished[dir] = true
            if flow.firstToEnd == nil { flow.firstToEnd = dir }
            if flow.finished.c2s && flow.finished.s2c {
                try finish(key, flow, error: nil, droppedBy: flow.firstToEnd, timestamp: packet.timestamp)
                remember(closed: key)
            }
        }
    }

    private func remember(closed key: FlowKey) {
        guard closed.insert(key).inserted else { return }
        closedOrder.append(key)
        while closed.count > Self.closedMemory, closedOrderHead < closedOrder.count {
            closed.remove(closedOrder[closedOrderHead])
            closedOrderHead += 1
        }
        if closedOrderHead > Self.closedMemory {
            closedOrder.removeFirst(closedOrderHead)
            closedOrderHead = 0
        }
    }

    private func newFlow(_ key: FlowKey, client: Endpoint, server: Endpoint, midstream: Bool) -> Flow {
        let flow = Flow(client: client, server: server, midstream: midstream, maxPending: options.maxPendingBytes)
        if !midstream { select(flow) } else if options.connections == nil { summary.tcpStreams += 1 }
        flows[key] = flow
        return flow
    }

    /// Gives the flow its tap, once its roles are known, if it is one of the connections asked for.
    /// A mid-stream flow was counted when it appeared, unless connections are being selected.
    private func select(_ flow: Flow) {
        let base = "\(flow.client)>\(flow.server)"
        let n = (connectionNumbers[base] ?? 0) + 1
        connectionNumbers[base] = n
        let conn = n == 1 ? base : "\(base)#\(n)"
        if let wanted = options.connections {
            guard conn.contains(wanted) else {
                flow.unselected = true
                return
            }
            summary.tcpStreams += 1
        } else if !flow.midstream {
            summary.tcpStreams += 1
        }
        let decoder = WebSocketTap(
            conn: conn, client: flow.client, server: flow.server, limits: options.inflate,
            maxFrameSize: options.maxFrameSize, maxHeadSize: options.maxHeadSize, inflaters: worker.inflaters)
        flow.tap = FlowTap(decoder: decoder, keyLog: keyLog)
    }

    /// A connection already running when the capture began: its first bytes say who is the client.
    /// One that starts inside anything but an HTTP head cannot be followed and is skipped.
    private func settleRoles(_ flow: Flow, sender: Endpoint, payload: [UInt8]) {
        guard !flow.skipped, !flow.unselected else { return }
        let startsResponse = payload.starts(with: Array("HTTP/".utf8))
        let startsRequest = !startsResponse && HTTPHeadReader.looksLikeHTTP(payload)
        guard startsRequest || startsResponse else {
            flow.skipped = true
            if options.connections == nil { summary.midstreamSkipped += 1 }
            return
        }
        let receiver = sender == flow.client ? flow.server : flow.client
        (flow.client, flow.server) = startsRequest ? (sender, receiver) : (receiver, sender)
        select(flow)
    }

    private func finish(_ key: FlowKey, _ flow: Flow, error: String?, droppedBy: Direction? = nil, timestamp: Int64) throws {
        flows[key] = nil
        guard let tap = flow.tap else { return }
        let rest = PerDirection(c2s: flow.streams.c2s.finish(), s2c: flow.streams.s2c.finish())
        try step(tap) { try $0.end(rest, error: error, droppedBy: droppedBy, timestamp: timestamp, on: worker) }
    }

    /// Ends every connection still open at the end of the file.
    func finishAll() throws {
        finishing = true
        for (key, flow) in flows.sorted(by: { $0.value.tap?.decoder.conn ?? "" < $1.value.tap?.decoder.conn ?? "" }) {
            let ended = flow.finished.c2s || flow.finished.s2c
            try finish(key, flow, error: ended ? nil : "the capture ended before the connection closed", droppedBy: flow.firstToEnd, timestamp: lastTimestamp)
        }
        finishing = false
    }
}

extension DecodeSummary {
    mutating func merge(_ other: DecodeSummary) {
        webSocketConnections += other.webSocketConnections
        messages += other.messages
        controlFrames += other.controlFrames
        gaps += other.gaps
        gapBytes += other.gapBytes
        overlapConflicts += other.overlapConflicts
        tlsStreams += other.tlsStreams
        tlsNotDecrypted.merge(other.tlsNotDecrypted, uniquingKeysWith: +)
        tlsDecrypted.merge(other.tlsDecrypted, uniquingKeysWith: +)
        tlsLost.merge(other.tlsLost, uniquingKeysWith: +)
        otherStreams += other.otherStreams
        httpRequests += other.httpRequests
        skippedBytes += other.skippedBytes
    }
}

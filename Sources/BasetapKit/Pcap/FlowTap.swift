/// The WebSocket side of one TCP connection of a pcap: what its reassembled streams carry (through
/// TLS decryption when a key log opens it) goes to its `WebSocketTap`. A `PcapDecoder` reads the
/// packets and puts the streams back in order; its `TapWorker` runs the taps.
final class FlowTap {
    let decoder: WebSocketTap
    private let keyLog: TLSKeyLog
    /// Set when the connection is TLS and a key log was given: the tap is fed what it decrypts.
    private var tls: TLSDecryptor?
    /// The client's first bytes were looked at for a TLS handshake.
    private var tlsChecked = false

    init(decoder: WebSocketTap, keyLog: TLSKeyLog) {
        self.decoder = decoder
        self.keyLog = keyLog
    }

    /// What a segment's reassembly gave.
    func segment(_ dir: Direction, _ events: [TCPStreamReassembler.Event], timestamp: Int64, on worker: TapWorker) throws {
        for event in events { try deliver(event, dir, timestamp: timestamp, sink: worker.sink) }
    }

    /// The connection ended: what its streams still held, then the end.
    func end(_ rest: PerDirection<[TCPStreamReassembler.Event]>, error: String?, droppedBy: Direction?, timestamp: Int64, on worker: TapWorker) throws {
        for dir in Direction.allCases {
            for event in rest[dir] { try deliver(event, dir, timestamp: timestamp, sink: worker.sink) }
        }
        try decoder.end(error: error, droppedBy: droppedBy, timestamp: timestamp, sink: worker.sink)
        worker.summary.merge(decoder.summary)
    }

    private func deliver(_ event: TCPStreamReassembler.Event, _ dir: Direction, timestamp: Int64, sink: TapSink) throws {
        if dir == .c2s, !tlsChecked, case .data(let bytes) = event, !bytes.isEmpty {
            tlsChecked = true
            if !keyLog.isEmpty && TLSDecryptor.startsHandshake(bytes) { tls = TLSDecryptor(keyLog: keyLog) }
        }
        // Data of a decrypted direction goes through the decryptor, changed in place so that its
        // buffers are never copied; gaps and conflicts are the TCP stream's.
        if case .data(let bytes) = event, tls?.decrypts(dir) == true {
            for action in tls!.feed(dir, bytes) {
                switch action {
                case .plaintext(let dir, let bytes): try decoder.data(dir, bytes, timestamp: timestamp, sink: sink)
                case .decrypting(let how): decoder.summary.tlsDecrypted[how, default: 0] += 1
                case .notDecrypted(let why): decoder.notDecrypted(because: why)
                case .lost(let dir, let past): decoder.undecryptable(dir, past: past)
                }
            }
            return
        }
        if case .gap = event { tls?.gap(dir) }  // record boundaries are lost with the bytes
        switch event {
        case .data(let bytes): try decoder.data(dir, bytes, timestamp: timestamp, sink: sink)
        case .gap(let offset, let missing): try decoder.gap(dir, missing: missing, offset: offset, sink: sink)
        case .conflict(let offset, let length): try decoder.conflict(dir, offset: offset, length: length, sink: sink)
        }
    }
}

/// One TLS connection of a capture, decrypted with its session's secrets from a key log. Each
/// direction's bytes are cut into records (a record may span segments and a segment hold many),
/// the handshake is followed as far as the version, the cipher suite and each side's key changes
/// (ChangeCipherSpec in TLS 1.2; Finished and KeyUpdate in TLS 1.3), and application data comes
/// out in order. Bytes in, actions out: the caller feeds the plaintext to HTTP and WebSocket decoding.
struct TLSDecryptor {
    enum Action: Equatable {
        /// Decrypted application data of a direction.
        case plaintext(Direction, [UInt8])
        /// The session's keys were found: "TLS 1.3, TLS_AES_128_GCM_SHA256".
        case decrypting(String)
        /// Nothing of the connection can be decrypted, and why.
        case notDecrypted(String)
        /// The direction cannot be decrypted past what is named.
        case lost(Direction, String)
    }

    /// Whether a stream's first bytes are a TLS handshake record (a ClientHello, by any version).
    static func startsHandshake<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        var i = bytes.makeIterator()
        return i.next() == 22 && i.next() == 3
    }

    /// Largest record body TLS allows (2^14 plus expansion, RFC 5246 §6.2.3).
    private static let maxRecord = 16_384 + 2_048
    /// Largest handshake message followed (certificate chains included).
    private static let maxHandshakeMessage = 1 << 20
    /// The random of a ServerHello that is a HelloRetryRequest (RFC 8446 §4.1.3).
    private static let helloRetryRandom: [UInt8] = [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ]

    private let keyLog: TLSKeyLog
    private var stopped = false
    private var lost = PerDirection(repeating: false)
    /// Bytes of a record not complete yet.
    private var pending = PerDirection<[UInt8]>(repeating: [])
    /// Handshake bytes of a message not complete yet (a message may span records).
    private var handshake = PerDirection<[UInt8]>(repeating: [])
    private var clientRandom: [UInt8]?
    private var secrets: TLSKeyLog.Secrets?
    private var suite: TLSCipherSuite?
    private var tls13 = false
    private var keys = PerDirection<TLSRecordProtection?>(repeating: nil)
    /// TLS 1.2: each side's keys, in force from its ChangeCipherSpec.
    private var staged = PerDirection<TLSRecordProtection?>(repeating: nil)
    /// TLS 1.3: each side's application traffic secret, in force after its Finished, renewed by KeyUpdate.
    private var traffic = PerDirection<[UInt8]?>(repeating: nil)
    private var finished = PerDirection(repeating: false)
    /// A record of the direction has opened: before that, a TLS 1.3 client record that does not
    /// open is 0-RTT data the server turned down (RFC 8446 §4.2.10), passed over as the server does.
    private var opened = PerDirection(repeating: false)
    /// Client records passed over that way; past `maxTurnedDown` the keys are taken to be wrong.
    private var turnedDown = 0
    private static let maxTurnedDown = 64

    init(keyLog: TLSKeyLog) {
        self.keyLog = keyLog
    }

    /// Whether bytes of `dir` are still decrypted; once not, they are the caller's to pass over.
    func decrypts(_ dir: Direction) -> Bool { !stopped && !lost[dir] }

    mutating func feed<Bytes: Collection<UInt8>>(_ dir: Direction, _ bytes: Bytes) -> [Action] {
        guard decrypts(dir) else { return [] }
        pending[dir].append(contentsOf: bytes)
        var actions: [Action] = []
        let buffer = pending[dir]
        var start = 0
        while buffer.count - start >= 5 {
            let type = buffer[start], length = Int(buffer[start + 3]) << 8 | Int(buffer[start + 4])
            guard (20...24).contains(type), buffer[start + 1] == 3, length <= Self.maxRecord else {
                lose(dir, "bytes that are not a TLS record", &actions)
                return actions
            }
            guard buffer.count - start >= 5 + length else { break }
            record(dir, type, header: buffer[start..<start + 5], body: buffer[start + 5..<start + 5 + length], &actions)
            start += 5 + length
            guard decrypts(dir) else { return actions }
        }
        pending[dir].removeFirst(start)
        return actions
    }

    /// Bytes of `dir` are missing from the capture (the caller reports the gap): record boundaries
    /// are lost with them.
    mutating func gap(_ dir: Direction) {
        lost[dir] = true
        pending[dir] = []
    }

    private mutating func record(_ dir: Direction, _ type: UInt8, header: ArraySlice<UInt8>, body: ArraySlice<UInt8>, _ actions: inout [Action]) {
        if type == 20 {  // ChangeCipherSpec: TLS 1.2 switches keys here; TLS 1.3 sends it for middleboxes only
            if !tls13, let next = staged[dir] {
                keys[dir] = next
                staged[dir] = nil
            }
            return
        }
        guard var protection = keys[dir] else {
            if type == 22 { handshakeBytes(dir, body, &actions) }
            return  // alerts in the clear; 0-RTT data sent before the ServerHello
        }
        guard let (inner, plaintext) = protection.open(type: type, header: header, body: body) else {
            if tls13 && dir == .c2s && !opened.c2s && turnedDown < Self.maxTurnedDown {
                turnedDown += 1
                return
            }
            lose(dir, "a record that does not open with the key log's keys", &actions)
            return
        }
        keys[dir] = protection
        opened[dir] = true
        switch inner {
        case 23: if !plaintext.isEmpty { actions.append(.plaintext(dir, plaintext)) }
        case 22: handshakeBytes(dir, plaintext[...], &actions)
        default: break  // alerts: the connection's end is read from TCP
        }
    }

    private mutating func handshakeBytes(_ dir: Direction, _ bytes: ArraySlice<UInt8>, _ actions: inout [Action]) {
        handshake[dir].append(contentsOf: bytes)
        let buffer = handshake[dir]
        var start = 0
        while buffer.count - start >= 4 {
            let length = Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
            guard length <= Self.maxHandshakeMessage else {
                lose(dir, "a handshake message larger than 1 MiB", &actions)
                return
            }
            guard buffer.count - start >= 4 + length else { break }
            message(dir, buffer[start], buffer[start + 4..<start + 4 + length], &actions)
            start += 4 + length
            guard decrypts(dir) else { return }
        }
        handshake[dir].removeFirst(start)
    }

    private mutating func message(_ dir: Direction, _ type: UInt8, _ body: ArraySlice<UInt8>, _ actions: inout [Action]) {
        switch (dir, type) {
        case (.c2s, 1) where clientRandom == nil:  // ClientHello (a second one, after a HelloRetryRequest, has the same random)
            guard body.count >= 34 else { return stop("its ClientHello is cut short", &actions) }
            let random = Array(body[body.startIndex + 2..<body.startIndex + 34])
            clientRandom = random
            guard let found = keyLog.secrets(clientRandom: random) else { return stop("no key for it in the key log", &actions) }
            secrets = found
        case (.s2c, 2) where suite == nil:
            serverHello(body, &actions)
        case (_, 20) where tls13 && !finished[dir]:
            finished[dir] = true
            guard let secret = traffic[dir] else {
                return lose(dir, "the Finished, with no \(dir == .c2s ? "CLIENT" : "SERVER")_TRAFFIC_SECRET_0 in the key log", &actions)
            }
            keys[dir] = TLSKeySchedule.tls13(secret: secret, suite: suite!)
        case (_, 24) where tls13 && finished[dir]:  // KeyUpdate: the sender's next records use the next secret
            guard let secret = traffic[dir] else { return }
            let next = TLSKeySchedule.nextTrafficSecret(secret, suite: suite!)
            traffic[dir] = next
            keys[dir] = TLSKeySchedule.tls13(secret: next, suite: suite!)
        default:
            break
        }
    }

    private mutating func serverHello(_ body: ArraySlice<UInt8>, _ actions: inout [Action]) {
        guard let hello = ServerHello(body) else { return stop("its ServerHello is malformed", &actions) }
        if hello.random == Self.helloRetryRandom { return }  // the real ServerHello follows the client's second hello
        guard let clientRandom, let secrets else { return stop("its ClientHello was not seen", &actions) }
        guard let chosen = TLSCipherSuite.find(hello.cipherSuite) else {
            return stop("\(TLSCipherSuite.describe(hello.cipherSuite)) is not decrypted (only AES-GCM and ChaCha20-Poly1305 suites are)", &actions)
        }
        suite = chosen
        switch hello.version {
        case 0x0304:
            guard chosen.isTLS13 else { return stop("TLS 1.3 with a TLS 1.2 cipher suite", &actions) }
            guard let client = secrets.handshake.c2s, let server = secrets.handshake.s2c else {
                return stop("the key log has no TLS 1.3 handshake secrets for it", &actions)
            }
            tls13 = true
            traffic = secrets.traffic
            keys = PerDirection(c2s: TLSKeySchedule.tls13(secret: client, suite: chosen), s2c: TLSKeySchedule.tls13(secret: server, suite: chosen))
            actions.append(.decrypting("TLS 1.3, \(chosen.name)"))
        case 0x0303:
            guard !chosen.isTLS13 else { return stop("TLS 1.2 with a TLS 1.3 cipher suite", &actions) }
            guard let master = secrets.master else { return stop("the key log has no CLIENT_RANDOM line for it", &actions) }
            let both = TLSKeySchedule.tls12(master: master, clientRandom: clientRandom, serverRandom: hello.random, suite: chosen)
            staged = PerDirection(c2s: both.c2s, s2c: both.s2c)
            actions.append(.decrypting("TLS 1.2, \(chosen.name)"))
        default:
            stop("TLS version 0x\(String(hello.version, radix: 16)) is not decrypted (TLS 1.2 and 1.3 are)", &actions)
        }
    }

    private mutating func stop(_ why: String, _ actions: inout [Action]) {
        stopped = true
        actions.append(.notDecrypted(why))
    }

    private mutating func lose(_ dir: Direction, _ why: String, _ actions: inout [Action]) {
        lost[dir] = true
        pending[dir] = []
        actions.append(.lost(dir, why))
    }
}

/// The fields of a ServerHello that decryption needs (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3).
private struct ServerHello {
    var version: UInt16
    var random: [UInt8]
    var cipherSuite: UInt16

    init?(_ body: ArraySlice<UInt8>) {
        var reader = ByteCursor(body)
        guard let legacyVersion = reader.uint16(), let random = reader.bytes(32), let sessionID = reader.uint8(), reader.bytes(Int(sessionID)) != nil,
              let suite = reader.uint16(), reader.uint8() != nil else { return nil }
        version = legacyVersion
        self.random = Array(random)
        cipherSuite = suite
        guard let extensionsLength = reader.uint16(), var extensions = reader.bytes(Int(extensionsLength)).map(ByteCursor.init) else { return }
        while let type = extensions.uint16(), let length = extensions.uint16(), let data = extensions.bytes(Int(length)) {
            if type == 43, data.count == 2 { version = UInt16(data[data.startIndex]) << 8 | UInt16(data[data.startIndex + 1]) }  // supported_versions
        }
    }
}

/// Big-endian fields read off a byte slice, nil past its end.
private struct ByteCursor {
    private var rest: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { rest = bytes }

    mutating func bytes(_ n: Int) -> ArraySlice<UInt8>? {
        guard rest.count >= n else { return nil }
        defer { rest = rest.dropFirst(n) }
        return rest.prefix(n)
    }

    mutating func uint8() -> UInt8? { bytes(1)?.first }

    mutating func uint16() -> UInt16? {
        bytes(2).map { UInt16($0[$0.startIndex]) << 8 | UInt16($0[$0.startIndex + 1]) }
    }
}

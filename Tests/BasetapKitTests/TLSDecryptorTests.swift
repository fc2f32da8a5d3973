import Crypto
import Foundation
import Testing
@testable import BasetapKit

/// TLS 1.3 connections made here, their records sealed with swift-crypto under secrets the test
/// chooses: key changes at Finished and KeyUpdate, records cut anywhere, keys that are missing or wrong.
/// (Real TLS 1.2 and 1.3 sessions between Python peers are decrypted in `TLSCaptureTests`.)
@Suite struct TLSDecryptorTests {
    static let suite = TLSCipherSuite.find(0x1301)!
    static let clientRandom = [UInt8](repeating: 0xC1, count: 32)
    static let secrets = (clientHandshake: [UInt8](repeating: 1, count: 32), serverHandshake: [UInt8](repeating: 2, count: 32),
                          clientTraffic: [UInt8](repeating: 3, count: 32), serverTraffic: [UInt8](repeating: 4, count: 32))

    /// Seals TLS 1.3 records as a peer would (RFC 8446 §5.2).
    struct Sealer {
        let key: SymmetricKey
        let iv: [UInt8]
        var sequence: UInt64 = 0

        init(secret: [UInt8]) {
            key = SymmetricKey(data: TLSKeySchedule.expandLabel(secret, "key", length: 16, hash: .sha256))
            iv = TLSKeySchedule.expandLabel(secret, "iv", length: 12, hash: .sha256)
        }

        mutating func record(_ type: UInt8, _ content: [UInt8], padding: Int = 0) -> [UInt8] {
            let plaintext = content + [type] + [UInt8](repeating: 0, count: padding)
            let length = plaintext.count + 16
            let header: [UInt8] = [23, 3, 3, UInt8(length >> 8), UInt8(length & 0xFF)]
            var nonce = iv
            withUnsafeBytes(of: sequence.bigEndian) { for (i, b) in $0.enumerated() { nonce[4 + i] ^= b } }
            sequence += 1
            let box = try! AES.GCM.seal(plaintext, using: key, nonce: try! AES.GCM.Nonce(data: nonce), authenticating: header)
            return header + Array(box.ciphertext) + Array(box.tag)
        }
    }

    static func handshakeMessage(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        [type, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    static func plainRecord(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
        [type, 3, 1, UInt8(content.count >> 8), UInt8(content.count & 0xFF)] + content
    }

    static func clientHello(random: [UInt8] = clientRandom) -> [UInt8] {
        plainRecord(22, handshakeMessage(1, [3, 3] + random + [0, 0, 2, 0x13, 0x01, 1, 0, 0, 0]))
    }

    static func serverHello(suite: UInt16 = 0x1301, version: UInt16? = 0x0304, random: [UInt8] = [UInt8](repeating: 0x5E, count: 32)) -> [UInt8] {
        let versions: [UInt8] = version.map { [0, 43, 0, 2, UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? []
        let body: [UInt8] = [3, 3] + random + [0, UInt8(suite >> 8), UInt8(suite & 0xFF), 0, 0, UInt8(versions.count)] + versions
        return plainRecord(22, handshakeMessage(2, body))
    }

    static func keyLog(_ random: [UInt8] = clientRandom) throws -> TLSKeyLog {
        func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
        let r = hex(random)
        var log = TLSKeyLog()
        try log.add(Array("""
            CLIENT_HANDSHAKE_TRAFFIC_SECRET \(r) \(hex(secrets.clientHandshake))
            SERVER_HANDSHAKE_TRAFFIC_SECRET \(r) \(hex(secrets.serverHandshake))
            CLIENT_TRAFFIC_SECRET_0 \(r) \(hex(secrets.clientTraffic))
            SERVER_TRAFFIC_SECRET_0 \(r) \(hex(secrets.serverTraffic))
            """.utf8)[...], place: "test")
        return log
    }

    /// A whole connection, in the order the bytes cross: (direction, bytes).
    static func connection(tamperWith tampered: Int? = nil) -> [(Direction, [UInt8])] {
        var serverHS = Sealer(secret: secrets.serverHandshake), clientHS = Sealer(secret: secrets.clientHandshake)
        var server = Sealer(secret: secrets.serverTraffic), client = Sealer(secret: secrets.clientTraffic)
        var stream: [(Direction, [UInt8])] = [
            (.c2s, clientHello()),
            (.s2c, serverHello() + [20, 3, 3, 0, 1, 1]
                + serverHS.record(22, handshakeMessage(8, [0, 0]) + handshakeMessage(11, [UInt8](repeating: 7, count: 300)))
                + serverHS.record(22, handshakeMessage(20, [UInt8](repeating: 9, count: 32)))),
            (.c2s, [20, 3, 3, 0, 1, 1] + clientHS.record(22, handshakeMessage(20, [UInt8](repeating: 8, count: 32)))),
            (.c2s, client.record(23, Array("GET /ws HTTP/1.1\r\n".utf8))),
            (.s2c, server.record(22, handshakeMessage(4, [UInt8](repeating: 0, count: 40))) + server.record(23, Array("HTTP/1.1 101".utf8), padding: 30)),
            (.s2c, server.record(22, handshakeMessage(24, [0]))),
        ]
        var next = Sealer(secret: TLSKeySchedule.nextTrafficSecret(secrets.serverTraffic, suite: suite))
        stream.append((.s2c, next.record(23, Array(" after the key update".utf8))))
        stream.append((.c2s, client.record(23, Array("more".utf8))))
        if let tampered { stream[tampered].1[stream[tampered].1.count - 20] ^= 1 }
        return stream
    }

    static func run(_ stream: [(Direction, [UInt8])], keyLog: TLSKeyLog, pieces: Int = .max) -> [TLSDecryptor.Action] {
        var decryptor = TLSDecryptor(keyLog: keyLog)
        var actions: [TLSDecryptor.Action] = []
        for (dir, bytes) in stream {
            var rest = bytes[...]
            while !rest.isEmpty {
                actions += decryptor.feed(dir, rest.prefix(pieces))
                rest = rest.dropFirst(pieces)
            }
        }
        return actions
    }

    static func plaintext(_ actions: [TLSDecryptor.Action], _ dir: Direction) -> String {
        actions.reduce(into: "") { text, action in
            if case .plaintext(dir, let bytes) = action { text += String(decoding: bytes, as: UTF8.self) }
        }
    }

    @Test(arguments: [Int.max, 1, 7])
    func keysChangeAtFinishedAndKeyUpdateWhereverTheRecordsAreCut(pieces: Int) throws {
        let actions = Self.run(Self.connection(), keyLog: try Self.keyLog(), pieces: pieces)
        #expect(actions.first == .decrypting("TLS 1.3, TLS_AES_128_GCM_SHA256"))
        #expect(Self.plaintext(actions, .c2s) == "GET /ws HTTP/1.1\r\nmore")
        #expect(Self.plaintext(actions, .s2c) == "HTTP/1.1 101 after the key update")
        #expect(!actions.contains { if case .lost = $0 { true } else { false } })
    }

    @Test func aRecordThatDoesNotOpenLosesItsDirectionOnly() throws {
        let actions = Self.run(Self.connection(tamperWith: 4), keyLog: try Self.keyLog())
        #expect(actions.contains(.lost(.s2c, "a record that does not open with the key log's keys")))
        #expect(Self.plaintext(actions, .s2c) == "")
        #expect(Self.plaintext(actions, .c2s) == "GET /ws HTTP/1.1\r\nmore")
    }

    /// Client records that never open are taken for turned-down 0-RTT data only so far: wrong client
    /// keys are named, not passed over in silence.
    @Test func wrongClientKeysAreNamed() throws {
        var wrong = Sealer(secret: [UInt8](repeating: 0x77, count: 32))
        var stream = Self.connection()
        stream.removeSubrange(2...)
        stream += (0..<70).map { _ in (Direction.c2s, wrong.record(23, Array("GET".utf8))) }
        let actions = Self.run(stream, keyLog: try Self.keyLog())
        #expect(actions.last == .lost(.c2s, "a record that does not open with the key log's keys"))
    }

    @Test func aSessionMissingFromTheKeyLogIsNotDecrypted() throws {
        let actions = Self.run(Self.connection(), keyLog: try Self.keyLog([UInt8](repeating: 0xAB, count: 32)))
        #expect(actions == [.notDecrypted("no key for it in the key log")])
    }

    @Test func aSuiteThatIsNotAEADIsNamed() throws {
        let stream: [(Direction, [UInt8])] = [(.c2s, Self.clientHello()), (.s2c, Self.serverHello(suite: 0xC013, version: nil))]
        var log = try Self.keyLog()
        try log.add(Array("CLIENT_RANDOM \(Self.clientRandom.map { String(format: "%02x", $0) }.joined()) \(String(repeating: "ab", count: 48))".utf8)[...], place: "test")
        #expect(Self.run(stream, keyLog: log) == [.notDecrypted("cipher suite 0xC013 is not decrypted (only AES-GCM and ChaCha20-Poly1305 suites are)")])
    }

    @Test func aHelloRetryRequestAndTurnedDown0RTTDataArePassedOver() throws {
        var stream = Self.connection()
        let retry = Self.serverHello(random: [
            0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
            0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
        ])
        var early = Sealer(secret: [UInt8](repeating: 0xEE, count: 32))
        stream.insert((.s2c, retry), at: 1)
        stream.insert((.c2s, Self.clientHello()), at: 2)
        stream.insert((.c2s, early.record(23, Array("early".utf8))), at: 4)  // after the real ServerHello
        let actions = Self.run(stream, keyLog: try Self.keyLog())
        #expect(Self.plaintext(actions, .c2s) == "GET /ws HTTP/1.1\r\nmore")
        #expect(Self.plaintext(actions, .s2c) == "HTTP/1.1 101 after the key update")
    }

    @Test func bytesThatAreNotRecordsStopTheDirection() throws {
        let actions = Self.run([(.c2s, Self.clientHello()), (.s2c, Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8))], keyLog: try Self.keyLog())
        #expect(actions == [.lost(.s2c, "bytes that are not a TLS record")])
    }
}

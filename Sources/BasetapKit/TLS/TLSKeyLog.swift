import Foundation

/// Session secrets from an NSS key log: what `SSLKEYLOGFILE` makes browsers, curl and OpenSSL
/// clients write, what `basetap proxy --sslkeylog` writes, and what a pcapng Decryption Secrets
/// Block carries. A session is found by its ClientHello's random, the second field of each line.
public struct TLSKeyLog: Sendable, Equatable {
    public struct Secrets: Sendable, Equatable {
        /// TLS 1.2: `CLIENT_RANDOM`, the 48-byte master secret.
        public var master: [UInt8]?
        /// TLS 1.3, by sender: `CLIENT_`/`SERVER_HANDSHAKE_TRAFFIC_SECRET`.
        public var handshake = PerDirection<[UInt8]?>(repeating: nil)
        /// TLS 1.3, by sender: `CLIENT_`/`SERVER_TRAFFIC_SECRET_0` (later ones are derived at each KeyUpdate).
        public var traffic = PerDirection<[UInt8]?>(repeating: nil)
    }

    private var sessions: [[UInt8]: Secrets] = [:]

    public init() {}

    public var isEmpty: Bool { sessions.isEmpty }
    /// Sessions with at least one secret.
    public var count: Int { sessions.count }

    public func secrets(clientRandom: [UInt8]) -> Secrets? { sessions[clientRandom] }

    /// Reads a key log file; a line that names a known secret but does not hold one is an input
    /// error naming the line. Labels basetap does not use (`EXPORTER_SECRET`, `RSA`) are passed over.
    public static func load(path: String) throws -> TLSKeyLog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BasetapError.input(place: path, message: "cannot read the TLS key log")
        }
        var log = TLSKeyLog()
        try log.add([UInt8](data)[...], place: path)
        guard !log.isEmpty else { throw BasetapError.input(place: path, message: "no TLS secrets in it (NSS key log lines like 'CLIENT_RANDOM <random> <secret>')") }
        return log
    }

    /// Adds the lines of `text`; `place` names them in errors ("keys.log", "capture.pcapng: block 3").
    public mutating func add(_ text: ArraySlice<UInt8>, place: String) throws {
        var number = 0
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            var fields = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") })
            guard let label = fields.first, label.first != UInt8(ascii: "#") else { continue }
            let name = String(decoding: label, as: UTF8.self)
            guard let store = Self.labels[name] else { continue }
            fields.removeFirst()
            guard fields.count == 2, let random = Self.hex(fields[0]), random.count == 32, let secret = Self.hex(fields[1]), !secret.isEmpty else {
                throw BasetapError.input(place: "\(place):\(number)", message: "\(name) needs a 64-digit hex client random and a hex secret")
            }
            store(&sessions[random, default: Secrets()], secret)
        }
    }

    public mutating func merge(_ other: TLSKeyLog) {
        sessions.merge(other.sessions) { mine, theirs in
            var merged = mine
            merged.master = merged.master ?? theirs.master
            for dir in Direction.allCases {
                merged.handshake[dir] = merged.handshake[dir] ?? theirs.handshake[dir]
                merged.traffic[dir] = merged.traffic[dir] ?? theirs.traffic[dir]
            }
            return merged
        }
    }

    private static let labels: [String: @Sendable (inout Secrets, [UInt8]) -> Void] = [
        "CLIENT_RANDOM": { $0.master = $1 },
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET": { $0.handshake.c2s = $1 },
        "SERVER_HANDSHAKE_TRAFFIC_SECRET": { $0.handshake.s2c = $1 },
        "CLIENT_TRAFFIC_SECRET_0": { $0.traffic.c2s = $1 },
        "SERVER_TRAFFIC_SECRET_0": { $0.traffic.s2c = $1 },
        // Checked like the others, but not kept: accepted 0-RTT data is not decrypted.
        "CLIENT_EARLY_TRAFFIC_SECRET": { _, _ in },
    ]

    static func hex<Digits: Collection<UInt8>>(_ digits: Digits) -> [UInt8]? {
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = digits.makeIterator()
        while let high = i.next() {
            guard let h = JSONString.hexValue(high), let l = i.next().flatMap(JSONString.hexValue) else { return nil }
            out.append(UInt8(h << 4 | l))
        }
        return out
    }
}

import Crypto
import Foundation

/// Record keys from the secrets of a key log: HKDF-Expand-Label for TLS 1.3 (RFC 8446 §7.1, §7.3)
/// and the PRF's key expansion for TLS 1.2 (RFC 5246 §5, §6.3).
enum TLSKeySchedule {
    /// The keys a TLS 1.3 traffic secret protects its records with.
    static func tls13(secret: [UInt8], suite: TLSCipherSuite) -> TLSRecordProtection {
        let key = expandLabel(secret, "key", length: suite.cipher.keyLength, hash: suite.hash)
        let iv = expandLabel(secret, "iv", length: 12, hash: suite.hash)
        return TLSRecordProtection(framing: .tls13, cipher: suite.cipher, key: key, iv: iv)
    }

    /// The next generation of a TLS 1.3 traffic secret, after a KeyUpdate (RFC 8446 §7.2).
    static func nextTrafficSecret(_ secret: [UInt8], suite: TLSCipherSuite) -> [UInt8] {
        expandLabel(secret, "traffic upd", length: suite.hash.length, hash: suite.hash)
    }

    /// Both directions' keys of a TLS 1.2 session with an AEAD suite (no MAC keys; a 4-byte salt for
    /// AES-GCM, whose records carry the rest of the nonce, and a 12-byte IV for ChaCha20-Poly1305).
    static func tls12(master: [UInt8], clientRandom: [UInt8], serverRandom: [UInt8], suite: TLSCipherSuite) -> PerDirection<TLSRecordProtection> {
        let keyLength = suite.cipher.keyLength
        let ivLength = suite.cipher == .chaCha20Poly1305 ? 12 : 4
        let block = prf(master, label: "key expansion", seed: serverRandom + clientRandom, length: 2 * (keyLength + ivLength), hash: suite.hash)
        let framing: TLSRecordProtection.Framing = suite.cipher == .chaCha20Poly1305 ? .tls12ChaCha : .tls12GCM
        func keys(_ key: Int, _ iv: Int) -> TLSRecordProtection {
            TLSRecordProtection(framing: framing, cipher: suite.cipher, key: Array(block[key..<key + keyLength]), iv: Array(block[iv..<iv + ivLength]))
        }
        return PerDirection(c2s: keys(0, 2 * keyLength), s2c: keys(keyLength, 2 * keyLength + ivLength))
    }

    static func expandLabel(_ secret: [UInt8], _ label: String, context: [UInt8] = [], length: Int, hash: TLSCipherSuite.Hash) -> [UInt8] {
        let fullLabel = Array("tls13 \(label)".utf8)
        let info = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(fullLabel.count)] + fullLabel + [UInt8(context.count)] + context
        func expand<H: HashFunction>(_: H.Type) -> [UInt8] {
            HKDF<H>.expand(pseudoRandomKey: SymmetricKey(data: secret), info: info, outputByteCount: length).withUnsafeBytes { Array($0) }
        }
        return hash == .sha256 ? expand(SHA256.self) : expand(SHA384.self)
    }

    /// P_hash of RFC 5246 §5 with the suite's hash.
    static func prf(_ secret: [UInt8], label: String, seed: [UInt8], length: Int, hash: TLSCipherSuite.Hash) -> [UInt8] {
        func pHash<H: HashFunction>(_: H.Type) -> [UInt8] {
            let key = SymmetricKey(data: secret)
            let labelled = Array(label.utf8) + seed
            var a = labelled
            var out: [UInt8] = []
            while out.count < length {
                a = Array(HMAC<H>.authenticationCode(for: a, using: key))
                out += Array(HMAC<H>.authenticationCode(for: a + labelled, using: key))
            }
            return Array(out.prefix(length))
        }
        return hash == .sha256 ? pHash(SHA256.self) : pHash(SHA384.self)
    }
}

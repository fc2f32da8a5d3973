import Crypto
import Foundation

/// One direction's record keys and sequence number: opens the AEAD-protected records of that
/// direction, one after another.
struct TLSRecordProtection {
    /// How a record's nonce and additional data are made.
    enum Framing {
        /// RFC 8446 §5.2: nonce = IV xor sequence, the record header authenticated, the real content
        /// type at the end of the plaintext after zero padding.
        case tls13
        /// RFC 5288: nonce = 4-byte salt + the record's 8-byte explicit nonce.
        case tls12GCM
        /// RFC 7905: nonce = IV xor sequence.
        case tls12ChaCha
    }

    static let tagLength = 16

    let framing: Framing
    let cipher: TLSCipherSuite.Cipher
    private let key: SymmetricKey
    private let iv: [UInt8]
    private(set) var sequence: UInt64 = 0

    init(framing: Framing, cipher: TLSCipherSuite.Cipher, key: [UInt8], iv: [UInt8]) {
        self.framing = framing
        self.cipher = cipher
        self.key = SymmetricKey(data: key)
        self.iv = iv
    }

    /// The plaintext of a record and its content type, or nil when it does not authenticate (wrong
    /// keys, or bytes changed). The sequence number moves on only when a record opens.
    mutating func open(type: UInt8, header: ArraySlice<UInt8>, body: ArraySlice<UInt8>) -> (type: UInt8, plaintext: [UInt8])? {
        var body = body
        let nonce: [UInt8]
        switch framing {
        case .tls12GCM:
            guard body.count >= 8 + Self.tagLength else { return nil }
            nonce = iv + body.prefix(8)
            body = body.dropFirst(8)
        case .tls13, .tls12ChaCha:
            guard body.count >= Self.tagLength else { return nil }
            nonce = sequenceNonce()
        }
        let ciphertext = body.dropLast(Self.tagLength), tag = body.suffix(Self.tagLength)
        let aad: [UInt8]
        if framing == .tls13 {
            aad = Array(header)
        } else {
            var pseudoHeader = withUnsafeBytes(of: sequence.bigEndian) { Array($0) }
            pseudoHeader += [type, header[header.startIndex + 1], header[header.startIndex + 2], UInt8(ciphertext.count >> 8), UInt8(ciphertext.count & 0xFF)]
            aad = pseudoHeader
        }
        guard let opened = decrypt(nonce: nonce, ciphertext: ciphertext, tag: tag, aad: aad) else { return nil }
        sequence &+= 1
        guard framing == .tls13 else { return (type, opened) }
        // TLSInnerPlaintext: content, its type, then zeros.
        guard let last = opened.lastIndex(where: { $0 != 0 }) else { return nil }
        return (opened[last], Array(opened[..<last]))
    }

    private func sequenceNonce() -> [UInt8] {
        var nonce = iv
        let counter = withUnsafeBytes(of: sequence.bigEndian) { Array($0) }
        for i in 0..<8 { nonce[nonce.count - 8 + i] ^= counter[i] }
        return nonce
    }

    private func decrypt(nonce: [UInt8], ciphertext: ArraySlice<UInt8>, tag: ArraySlice<UInt8>, aad: [UInt8]) -> [UInt8]? {
        switch cipher {
        case .aes128GCM, .aes256GCM:
            guard let nonce = try? AES.GCM.Nonce(data: nonce),
                  let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag),
                  let plain = try? AES.GCM.open(box, using: key, authenticating: aad) else { return nil }
            return Array(plain)
        case .chaCha20Poly1305:
            guard let nonce = try? ChaChaPoly.Nonce(data: nonce),
                  let box = try? ChaChaPoly.SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag),
                  let plain = try? ChaChaPoly.open(box, using: key, authenticating: aad) else { return nil }
            return Array(plain)
        }
    }
}

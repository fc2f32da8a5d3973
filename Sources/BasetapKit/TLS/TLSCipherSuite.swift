/// The cipher suites whose records basetap decrypts from a capture: every AEAD suite of TLS 1.3,
/// and the AES-GCM and ChaCha20-Poly1305 suites of TLS 1.2 (what browsers and servers negotiate).
struct TLSCipherSuite: Equatable, Sendable {
    enum Cipher: Sendable {
        case aes128GCM, aes256GCM, chaCha20Poly1305

        var keyLength: Int { self == .aes128GCM ? 16 : 32 }
    }

    enum Hash: Sendable {
        case sha256, sha384

        var length: Int { self == .sha256 ? 32 : 48 }
    }

    let id: UInt16
    let name: String
    let cipher: Cipher
    let hash: Hash

    /// The suite a ServerHello chose, if basetap can decrypt it.
    static func find(_ id: UInt16) -> TLSCipherSuite? { all.first { $0.id == id } }

    static func describe(_ id: UInt16) -> String {
        find(id)?.name ?? "cipher suite 0x" + String(id, radix: 16, uppercase: true)
    }

    var isTLS13: Bool { id >> 8 == 0x13 }

    private static let all: [TLSCipherSuite] = [
        TLSCipherSuite(id: 0x1301, name: "TLS_AES_128_GCM_SHA256", cipher: .aes128GCM, hash: .sha256),
        TLSCipherSuite(id: 0x1302, name: "TLS_AES_256_GCM_SHA384", cipher: .aes256GCM, hash: .sha384),
        TLSCipherSuite(id: 0x1303, name: "TLS_CHACHA20_POLY1305_SHA256", cipher: .chaCha20Poly1305, hash: .sha256),
        TLSCipherSuite(id: 0x009C, name: "TLS_RSA_WITH_AES_128_GCM_SHA256", cipher: .aes128GCM, hash: .sha256),
        TLSCipherSuite(id: 0x009D, name: "TLS_RSA_WITH_AES_256_GCM_SHA384", cipher: .aes256GCM, hash: .sha384),
        TLSCipherSuite(id: 0x009E, name: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", cipher: .aes128GCM, hash: .sha256),
        TLSCipherSuite(id: 0x009F, name: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", cipher: .aes256GCM, hash: .sha384),
        TLSCipherSuite(id: 0xC02B, name: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", cipher: .aes128GCM, hash: .sha256),
        TLSCipherSuite(id: 0xC02C, name: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", cipher: .aes256GCM, hash: .sha384),
        TLSCipherSuite(id: 0xC02F, name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", cipher: .aes128GCM, hash: .sha256),
        TLSCipherSuite(id: 0xC030, name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", cipher: .aes256GCM, hash: .sha384),
        TLSCipherSuite(id: 0xCCA8, name: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", cipher: .chaCha20Poly1305, hash: .sha256),
        TLSCipherSuite(id: 0xCCA9, name: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", cipher: .chaCha20Poly1305, hash: .sha256),
        TLSCipherSuite(id: 0xCCAA, name: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", cipher: .chaCha20Poly1305, hash: .sha256),
    ]
}

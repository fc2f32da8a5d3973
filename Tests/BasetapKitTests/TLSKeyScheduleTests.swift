import Testing
@testable import BasetapKit

/// Key derivation against published vectors.
@Suite struct TLSKeyScheduleTests {
    static func hex(_ text: String) -> [UInt8] { TLSKeyLog.hex(Array(text.utf8))! }

    /// RFC 8448 §3 (simple 1-RTT handshake): the server's handshake traffic secret and its record key and IV.
    @Test func tls13KeyAndIVFromRFC8448() {
        let secret = Self.hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
        #expect(TLSKeySchedule.expandLabel(secret, "key", length: 16, hash: .sha256) == Self.hex("3fce516009c21727d0f2e4e86ee403bc"))
        #expect(TLSKeySchedule.expandLabel(secret, "iv", length: 12, hash: .sha256) == Self.hex("5d313eb2671276ee13000b30"))
    }

    /// The TLS 1.2 PRF (P_SHA256) test vector circulated on the IETF TLS list.
    @Test func tls12PRFWithSHA256() {
        let out = TLSKeySchedule.prf(Self.hex("9bbe436ba940f017b17652849a71db35"), label: "test label",
                                     seed: Self.hex("a0ba9f936cda311827a6f796ffd5198c"), length: 100, hash: .sha256)
        #expect(out == Self.hex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"))
    }

    @Test func aKeyUpdateMakesADifferentSecretOfTheSameLength() {
        let suite = TLSCipherSuite.find(0x1302)!
        let secret = [UInt8](repeating: 5, count: 48)
        let next = TLSKeySchedule.nextTrafficSecret(secret, suite: suite)
        #expect(next.count == 48 && next != secret)
        #expect(next == TLSKeySchedule.expandLabel(secret, "traffic upd", length: 48, hash: .sha384))
    }
}

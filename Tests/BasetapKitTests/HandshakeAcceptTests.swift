import Testing
@testable import BasetapKit

/// The one `Sec-WebSocket-Accept` check, used by the decoder (a violation) and by replay (a failure).
@Suite struct HandshakeAcceptTests {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="

    @Test func theValueIsRFC6455sExample() {
        #expect(HandshakeAccept.value(for: Self.key) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func aMismatchSaysWhatCameAndWhatWasDue() {
        #expect(HandshakeAccept.mismatch(key: Self.key, answered: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == nil)
        #expect(HandshakeAccept.mismatch(key: Self.key, answered: "nope") == "Sec-WebSocket-Accept is 'nope', not 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' for the client's key")
        #expect(HandshakeAccept.mismatch(key: Self.key, answered: nil)?.hasPrefix("Sec-WebSocket-Accept is missing") == true)
    }
}

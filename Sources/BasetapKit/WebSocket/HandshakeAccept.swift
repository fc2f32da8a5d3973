@preconcurrency import Crypto
import Foundation

/// The `Sec-WebSocket-Accept` a server must answer to a client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2):
/// proof that the server read this handshake, which a client checks before it trusts the upgrade.
enum HandshakeAccept {
    static func value(for key: String) -> String {
        Data(Insecure.SHA1.hash(data: Data((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
    }

    /// What is wrong with the server's answer to `key`, or nil when it is the right one.
    static func mismatch(key: String, answered: String?) -> String? {
        let expected = value(for: key)
        guard answered != expected else { return nil }
        return "Sec-WebSocket-Accept is \(answered.map { "'\($0)'" } ?? "missing"), not '\(expected)' for the client's key"
    }
}

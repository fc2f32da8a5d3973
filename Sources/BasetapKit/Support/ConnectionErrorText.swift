import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// How a failed connection is worded for a user, wherever basetap connects or relays (proxy,
/// replay, fuzz): the system's own phrase, not a Swift error's dump.
enum ConnectionErrorText {
    static func describe(_ error: Error) -> String {
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first { return describe(first.error) }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if error is ChannelError, case .connectTimeout = error as! ChannelError { return "no answer within the connect timeout" }
        return "\(error)"
    }

    /// `dir`: the side whose connection failed (c2s: a client of the proxy).
    static func describe(_ error: Error, dir: Direction) -> String {
        guard let tlsError = error as? NIOSSLError, case .handshakeFailed(let reason) = tlsError else { return describe(error) }
        let hint = dir == .c2s ? " (a client that does not trust basetap's CA rejects its certificates: see 'basetap ca show')" : ""
        // BoringSSL's text carries error numbers and source paths; its reason names are what a user can act on.
        let names = "\(reason)".components(separatedBy: "OPENSSL_internal:").dropFirst().map { $0.prefix { $0.isUppercase || $0 == "_" } }
        return "TLS handshake failed: \(names.isEmpty ? "\(reason)" : names.joined(separator: ", "))\(hint)"
    }
}

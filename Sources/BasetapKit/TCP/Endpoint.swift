import Foundation
import NIOCore

/// An IP address and port, printed as CAPTURE-FORMAT.md names connections: `1.2.3.4:80`, `[::1]:80`.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public var address: [UInt8]
    public var port: UInt16

    public init(address: [UInt8], port: UInt16) {
        self.address = address
        self.port = port
    }

    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = address.count == 4 ? AF_INET : AF_INET6
        _ = address.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String {
        address.count == 4 ? "\(host):\(port)" : "[\(host)]:\(port)"
    }
}

extension Endpoint {
    /// A socket's address (a NIO channel's local or remote one); loopback port 0 when it has none.
    init(_ address: SocketAddress?) {
        switch address {
        case .v4(let a):
            self.init(address: withUnsafeBytes(of: a.address.sin_addr.s_addr) { Array($0) }, port: UInt16(address?.port ?? 0))
        case .v6(let a):
            self.init(address: withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }, port: UInt16(address?.port ?? 0))
        default:
            self.init(address: [127, 0, 0, 1], port: 0)
        }
    }
}

import Foundation

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
        return String(cString: text)
    }

    public var description: String {
        address.count == 4 ? "\(host):\(port)" : "[\(host)]:\(port)"
    }
}

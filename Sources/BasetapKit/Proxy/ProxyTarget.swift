/// A server basetap connects to: `ws://host:port` or `wss://host:port` (TLS). In reverse mode the
/// client's path and query are kept, so a path in `--upstream` is ignored.
public struct ProxyTarget: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var tls: Bool

    public init(host: String, port: Int, tls: Bool = false) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    /// Parses `ws://host[:port][/...]` or `wss://…` (`[v6]` hosts allowed); `http(s)://` are accepted as synonyms.
    public init(url: String, flag: String = "--upstream") throws {
        let schemes: [(String, Bool)] = [("ws://", false), ("wss://", true), ("http://", false), ("https://", true)]
        guard let (scheme, tls) = schemes.first(where: { url.lowercased().hasPrefix($0.0) }) else {
            throw BasetapError.usage("\(flag) must be a ws:// or wss:// URL, not '\(url)'")
        }
        let authority = url.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" }
        try self.init(hostPort: String(authority), defaultPort: tls ? 443 : 80, flag: flag)
        self.tls = tls
    }

    /// Parses `host:port`, `[v6]:port`, or a bare host with `defaultPort`.
    public init(hostPort: String, defaultPort: Int?, flag: String) throws {
        var host = hostPort
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw BasetapError.usage("\(flag): '[' without ']' in '\(hostPort)'") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let rest = hostPort[hostPort.index(after: close)...]
            if rest.hasPrefix(":") { portText = rest.dropFirst() }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            portText = hostPort[hostPort.index(after: colon)...]
        }
        guard !host.isEmpty else { throw BasetapError.usage("\(flag): no host in '\(hostPort)'") }
        let port = portText.flatMap { Int($0) } ?? (portText == nil ? defaultPort : nil)
        guard let port, (1...65535).contains(port) else { throw BasetapError.usage("\(flag): '\(hostPort)' needs a port from 1 to 65535") }
        self.host = host
        self.port = port
        self.tls = false
    }

    public var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// What a Host header names: the port is left out when it is the scheme's default.
    public var hostHeader: String {
        port == (tls ? 443 : 80) ? (host.contains(":") ? "[\(host)]" : host) : authority
    }

    public var url: String { "\(tls ? "wss" : "ws")://\(authority)" }
}

/// Where a reverse proxy forwards to: `ws://host:port`; the client's path and query are kept.
public struct ProxyTarget: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `ws://host[:port][/...]` (`[v6]` hosts allowed).
    public init(url: String) throws {
        guard url.hasPrefix("ws://") else {
            if url.hasPrefix("wss://") { throw BasetapError.usage("--upstream: wss:// upstreams are not supported yet; use ws://") }
            throw BasetapError.usage("--upstream must be a ws:// URL, not '\(url)'")
        }
        let authority = url.dropFirst(5).prefix { $0 != "/" && $0 != "?" }
        try self.init(hostPort: String(authority), defaultPort: 80, flag: "--upstream")
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
    }

    public var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

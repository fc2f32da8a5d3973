/// A server basetap connects to: `ws://host:port[/path][?query]` or `wss://…` (TLS). The path and
/// query, when given, are a prefix that reverse mode joins with each client's request target, as
/// nginx's `proxy_pass` with a URI does; replay and fuzz send them instead of the recorded ones.
public struct ProxyTarget: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var tls: Bool
    /// Path and query as given (`/ws`, `/ws?v=2`, `?v=2`), or "" when the URL names none.
    public var path = ""

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
        let rest = url.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        try self.init(hostPort: String(authority), defaultPort: tls ? 443 : 80, flag: flag)
        self.tls = tls
        let path = rest.dropFirst(authority.count)
        self.path = path == "/" ? "" : String(path)
    }

    /// The path and query as a request target: `/` when none is given.
    public var requestTarget: String {
        path.isEmpty ? "/" : path.hasPrefix("?") ? "/" + path : path
    }

    /// The request target sent upstream for a client's `target`: this target's path joined in
    /// front of the client's (`/ws` + `/chat?a=1` is `/ws/chat?a=1`, `/ws` + `/` is `/ws`), and
    /// both queries kept, this target's first.
    public func joined(with target: String) -> String {
        guard !path.isEmpty else { return target }
        func split(_ text: Substring) -> (path: Substring, query: Substring?) {
            guard let mark = text.firstIndex(of: "?") else { return (text, nil) }
            return (text[..<mark], text[text.index(after: mark)...])
        }
        let mine = split(Substring(path)), theirs = split(Substring(target))
        var joined = mine.path.isEmpty ? "/" : String(mine.path)
        if theirs.path != "/" && !theirs.path.isEmpty {
            if joined.hasSuffix("/") { joined.removeLast() }
            joined += theirs.path.hasPrefix("/") ? theirs.path : "/" + theirs.path
        }
        let queries = [mine.query, theirs.query].compactMap { $0 }.filter { !$0.isEmpty }
        return queries.isEmpty ? joined : joined + "?" + queries.joined(separator: "&")
    }

    /// Parses `host:port`, `[v6]:port`, or a bare host with `defaultPort`. An address to listen on
    /// may say port 0: any free one (the banner then names the port it got).
    public init(hostPort: String, defaultPort: Int?, flag: String, listening: Bool = false) throws {
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
        guard let port, ((listening ? 0 : 1)...65535).contains(port) else {
            throw BasetapError.usage("\(flag): '\(hostPort)' needs a port from 1 to 65535\(listening ? " (or 0 for any free one)" : "")")
        }
        self.host = host
        self.port = port
        self.tls = false
    }

    public var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// What a Host header names: the port is left out when it is the scheme's default.
    public var hostHeader: String {
        port == (tls ? 443 : 80) ? (host.contains(":") ? "[\(host)]" : host) : authority
    }

    public var url: String { "\(tls ? "wss" : "ws")://\(authority)\(path)" }
}

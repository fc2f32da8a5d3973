import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The web inspector's HTTP server: the page, the JSON API, and `/api/events` (a WebSocket of new
/// records, violations and held messages). Requests are read with basetap's one HTTP head reader and
/// events written with its one frame encoder. It can inject traffic, so every request needs the
/// token, the `Host` must name this server (against DNS rebinding), and a browser's `Origin` must too.
public final class InspectorServer: Sendable {
    let store: InspectorStore
    /// The live proxy whose traffic this shows; nil for captures (read-only).
    let proxy: ProxyServer?
    public let token: String
    private let group: MultiThreadedEventLoopGroup
    private let channel = NIOLockedValueBox<Channel?>(nil)

    /// `listen`: loopback unless told otherwise; `token`: random unless given.
    /// `flag`: the option that named `listen`, for the error when it cannot be bound.
    init(store: InspectorStore, proxy: ProxyServer?, listen: ProxyTarget, token: String?, flag: String) throws {
        self.store = store
        self.proxy = proxy
        self.token = token ?? Self.randomToken()
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(InspectorHTTPHandler(server: self))
                }
            }
        do {
            let bound = try bootstrap.bind(host: listen.host, port: listen.port).wait()
            channel.withLockedValue { $0 = bound }
        } catch {
            try? group.syncShutdownGracefully()
            throw BasetapError.usage("\(flag) \(listen.authority): cannot listen: \(ConnectionErrorText.describe(error))")
        }
    }

    public var port: Int { channel.withLockedValue { $0?.localAddress?.port } ?? 0 }
    var host: String { channel.withLockedValue { $0?.localAddress?.ipAddress } ?? "127.0.0.1" }

    /// The address to open, token included.
    public var url: String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return "http://\(shown):\(port)/?token=\(token)"
    }

    public func stop() {
        try? channel.withLockedValue { $0 }?.close().wait()
        try? group.syncShutdownGracefully()
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Whether `host` (a request's Host header) names this server: its address, or a loopback name.
    func isOwnHost(_ value: String) -> Bool {
        let names = Set(["127.0.0.1", "localhost", "[::1]", host.contains(":") ? "[\(host)]" : host])
        return names.contains { value.lowercased() == "\($0):\(port)" }
    }
}

extension InspectorServer {
    /// The inspector of a live proxy made with `store` as its inspection: held and settled messages
    /// reach the store as they happen, and the API holds, releases and injects through the proxy.
    static func live(_ proxy: ProxyServer, store: InspectorStore, listen: ProxyTarget, token: String?) throws -> InspectorServer {
        proxy.control.onHeld { store.held($0) }
        proxy.control.onSettled { store.settled(conn: $0, hold: $1) }
        return try InspectorServer(store: store, proxy: proxy, listen: listen, token: token, flag: "--ui-listen")
    }
}

import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// One browser's or script's connection to the inspector: HTTP/1.1 requests one after another
/// (keep-alive), or, after `GET /api/events`, a WebSocket that the store's events are written to.
final class InspectorHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Request {
        var method: String
        var path: String
        var query: [String: String]
        var head: HTTPHead
        var body: [UInt8]
    }

    struct Response {
        var status: Int
        var contentType = "application/json"
        var body: [UInt8]
        var headers: [(String, String)] = []

        static func json(_ value: JSONValue, status: Int = 200) -> Response {
            Response(status: status, body: value.serialized())
        }

        static func error(_ status: Int, _ message: String, column: Int? = nil) -> Response {
            .json(InspectorJSON.error(message, column: column), status: status)
        }
    }

    private let server: InspectorServer
    private var reader = HTTPHeadReader()
    private var head: HTTPHead?
    private var body: [UInt8] = []
    private var busy = false
    private var events: (parser: FrameParser, subscription: Int)?

    init(server: InspectorServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytesView
        if events != nil { return eventsInput(context: context, bytes) }
        if head == nil {
            switch reader.feed(bytes) {
            case .needMore: return
            case .notHTTP, .tooLong: return context.close(promise: nil)
            case .head(let parsed, let rest):
                head = parsed
                body = rest
            }
        } else {
            body.append(contentsOf: bytes)
        }
        guard let head, !busy else { return }
        let length = Int(head.value("Content-Length") ?? "0") ?? -1
        guard length >= 0, length <= 1 << 20 else {
            return send(context: context, .error(length < 0 ? 400 : 413, length < 0 ? "Content-Length is not a number" : "request bodies are at most 1 MiB"), close: true)
        }
        guard body.count >= length else { return }
        let target = head.target ?? "/"
        let (path, query) = Self.split(target)
        let request = Request(method: head.startLine.first ?? "GET", path: path, query: query, head: head, body: Array(body.prefix(length)))
        self.head = nil
        reader = HTTPHeadReader()
        body = []
        busy = true
        let close = head.value("Connection")?.lowercased() == "close"
        if let refusal = guardRequest(request) { return send(context: context, refusal.response, cookie: nil, close: close) }
        let cookie = request.query["token"] == server.token ? "basetap_token=\(server.token); HttpOnly; SameSite=Strict; Path=/" : nil
        if request.path == "/api/events" { return startEvents(context: context, request) }
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        InspectorRoutes(server: server).respond(to: request, on: loop).whenComplete { result in
            let (handler, context) = bound.value
            switch result {
            case .success(let response): handler.send(context: context, response, cookie: cookie, close: close)
            case .failure(let error): handler.send(context: context, .error(500, "\(error)"), cookie: nil, close: close)
            }
        }
    }

    private struct Refusal { var response: Response }

    /// The token, the Host (against DNS rebinding) and, for what changes traffic, the Origin.
    private func guardRequest(_ request: Request) -> Refusal? {
        let host = request.head.value("Host") ?? ""
        guard server.isOwnHost(host) else { return Refusal(response: .error(403, "Host '\(host)' is not this inspector's address")) }
        let bearer = request.head.value("Authorization") == "Bearer \(server.token)"
        let cookie = (request.head.value("Cookie") ?? "").split(separator: ";").contains { $0.trimmingCharacters(in: .whitespaces) == "basetap_token=\(server.token)" }
        guard bearer || cookie || request.query["token"] == server.token else {
            return Refusal(response: .error(401, "the inspector needs its token: open the URL basetap printed, or send 'Authorization: Bearer TOKEN'"))
        }
        if request.method != "GET" || request.path == "/api/events", let origin = request.head.value("Origin"), origin != "http://\(host)" {
            return Refusal(response: .error(403, "Origin '\(origin)' may not change this inspector's traffic"))
        }
        return nil
    }

    private func send(context: ChannelHandlerContext, _ response: Response, cookie: String? = nil, close: Bool = false) {
        let reasons = [200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
                       409: "Conflict", 413: "Content Too Large", 500: "Internal Server Error", 504: "Gateway Timeout"]
        var head = "HTTP/1.1 \(response.status) \(reasons[response.status] ?? "Error")\r\n"
        head += "Content-Type: \(response.contentType)\r\nContent-Length: \(response.body.count)\r\nCache-Control: no-store\r\n"
        head += "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"
        head += "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
        if let cookie { head += "Set-Cookie: \(cookie)\r\n" }
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        var buffer = context.channel.allocator.buffer(capacity: head.utf8.count + response.body.count)
        buffer.writeString(head)
        buffer.writeBytes(response.body)
        busy = false
        let write = context.writeAndFlush(wrapOutboundOut(buffer))
        if close { write.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }

    // MARK: /api/events

    private func startEvents(context: ChannelHandlerContext, _ request: Request) {
        guard request.head.asksForWebSocket, let key = request.head.value("Sec-WebSocket-Key") else {
            return send(context: context, .error(400, "/api/events is a WebSocket: send an upgrade request"))
        }
        let answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(HandshakeAccept.value(for: key))\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: answer)), promise: nil)
        let loop = context.eventLoop
        let bound = NIOLoopBound(context, eventLoop: loop)
        // Events come from the store's writer, often thousands a second: they are framed there and
        // written in batches, one write per turn of the event loop, not one each.
        let outbox = NIOLockedValueBox(Outbox())
        let subscription = server.store.subscribe { event in
            let frame = FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: Self.encode(event)))
            let schedule = outbox.withLockedValue { outbox in outbox.add(frame) }
            guard schedule else { return }
            loop.execute {
                let context = bound.value
                let (bytes, missed) = outbox.withLockedValue { $0.take() }
                // A browser that cannot keep up is told how much it missed, not buffered for without end.
                if missed > 0 {
                    let lagged = JSONValue.object([.init("event", .string("lagged")), .init("missed", .number(String(missed)))])
                    context.write(NIOAny(context.channel.allocator.buffer(bytes: FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: lagged.serialized())))), promise: nil)
                }
                guard context.channel.isWritable else {
                    outbox.withLockedValue { $0.missed += bytes.frames }
                    return
                }
                context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: bytes.data)), promise: nil)
            }
        }
        events = (FrameParser(maxFrameSize: 1 << 16), subscription)
    }

    /// Frames waiting for the event loop, and how many were given up on.
    private struct Outbox {
        var data: [UInt8] = []
        var frames = 0
        var missed = 0
        static let limit = 8 << 20

        /// Whether a write must be scheduled (the outbox was empty).
        mutating func add(_ frame: [UInt8]) -> Bool {
            guard data.count < Self.limit else {
                missed += 1
                return false
            }
            data += frame
            frames += 1
            return frames == 1
        }

        mutating func take() -> ((data: [UInt8], frames: Int), Int) {
            defer { self = Outbox() }
            return ((data, frames), missed)
        }
    }

    private static func encode(_ event: InspectorStore.Event) -> [UInt8] {
        var data: [UInt8] = []
        let name: String
        switch event {
        case .connection(let c): (name, data) = ("connection", InspectorJSON.connection(c).serialized())
        case .item(let item): (name, data) = ("message", InspectorJSON.item(item).serialized())
        case .violation(let v): name = "violation"; ViolationFormatter.appendJSON(v, into: &data)
        case .held(let held): (name, data) = ("held", InspectorJSON.held(held).serialized())
        case .settled(let seq): (name, data) = ("settled", Array(#"{"seq":\#(seq)}"#.utf8))
        case .loaded(let count): (name, data) = ("loaded", Array(#"{"records":\#(count)}"#.utf8))
        }
        return Array(#"{"event":""#.utf8) + Array(name.utf8) + Array(#"","data":"#.utf8) + data + [UInt8(ascii: "}")]
    }

    private func eventsInput(context: ChannelHandlerContext, _ bytes: ByteBufferView) {
        events!.parser.append(bytes)
        while let frame = try? events!.parser.next() {
            switch WebSocketOpcode(rawValue: frame.opcode) {
            case .close:
                let close = FrameEncoder.encode(WebSocketFrame(opcode: .close, payload: Array(frame.payload.prefix(2))))
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: close))).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
                return
            case .ping:
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: FrameEncoder.encode(WebSocketFrame(opcode: .pong, payload: frame.payload)))), promise: nil)
            default:
                break
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let events { server.store.unsubscribe(events.subscription) }
        context.fireChannelInactive()
    }

    /// A request target's path and its query parameters, percent-decoded.
    static func split(_ target: String) -> (String, [String: String]) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
                query[decode(kv[0])] = kv.count > 1 ? decode(kv[1]) : ""
            }
        }
        return (String(parts[0]), query)
    }
}

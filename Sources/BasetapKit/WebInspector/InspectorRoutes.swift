import Foundation
import NIOCore

/// What each API path answers. Reads go to the store; holding and injecting go to the live proxy's
/// message-level control (not there for captures: 405).
struct InspectorRoutes {
    typealias Request = InspectorHTTPHandler.Request
    typealias Response = InspectorHTTPHandler.Response

    let server: InspectorServer
    private var store: InspectorStore { server.store }

    enum Route: Equatable {
        case page, script, style
        case info, rules, connections, messages, message(String), timeline, violations, capture, held
        case hold, settle(String), inject(String), repeatMessage
        case unknown

        init(_ path: String) {
            let parts = path.split(separator: "/").map(String.init)
            switch parts.count {
            case 0: self = .page
            case 1: self = ["app.js": .script, "app.css": .style][parts[0]] ?? .unknown
            case 2 where parts[0] == "api":
                self = ["info": .info, "rules": .rules, "connections": .connections, "messages": .messages, "timeline": .timeline, "violations": .violations,
                        "capture": .capture, "held": .held, "hold": .hold, "repeat": .repeatMessage][parts[1]] ?? .unknown
            case 3 where parts[0] == "api" && parts[1] == "messages": self = .message(parts[2])
            case 3 where parts[0] == "api" && parts[1] == "held": self = .settle(parts[2])
            case 4 where parts[0] == "api" && parts[1] == "connections" && parts[3] == "messages": self = .inject(parts[2])
            default: self = .unknown
            }
        }
    }

    func respond(to request: Request, on loop: EventLoop) -> EventLoopFuture<Response> {
        let route = Route(request.path)
        switch (request.method, route) {
        case ("GET", .page):
            return loop.makeSucceededFuture(Response(status: 200, contentType: "text/html; charset=utf-8", body: Array(InspectorPage.html.utf8)))
        case ("GET", .script):
            return loop.makeSucceededFuture(Response(status: 200, contentType: "text/javascript; charset=utf-8", body: Array(InspectorPage.script.utf8)))
        case ("GET", .style):
            return loop.makeSucceededFuture(Response(status: 200, contentType: "text/css; charset=utf-8", body: Array(InspectorPage.style.utf8)))
        default:
            return api(request, route, loop)
        }
    }

    private func filter(_ request: Request) throws -> MessageFilter? {
        guard let text = request.query["filter"], !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return try MessageFilter(text)
    }

    private func conn(_ request: Request) -> String? {
        request.query["conn"].flatMap { $0.isEmpty ? nil : $0 }
    }

    private func api(_ request: Request, _ route: Route, _ loop: EventLoop) -> EventLoopFuture<Response> {
        func now(_ response: Response) -> EventLoopFuture<Response> { loop.makeSucceededFuture(response) }
        let live = server.proxy != nil
        do {
            switch (request.method, route) {
            case ("GET", .info):
                return now(.json(.object([.init("live", .bool(live)), .init("loading", .bool(store.isLoading))])))
            case ("GET", .rules):
                return now(.json(InspectorJSON.rules()))
            case ("GET", .connections):
                return now(.json(.array(store.connections.map(InspectorJSON.connection))))
            case ("GET", .messages):
                let limit = min(max(Int(request.query["limit"] ?? "200") ?? 200, 1), 10_000)
                let items = if let offset = request.query["offset"].flatMap({ Int($0) }) {
                    store.page(conn: conn(request), filter: try filter(request), offset: offset, limit: limit).items
                } else {
                    store.items(conn: conn(request), filter: try filter(request), after: Int(request.query["after"] ?? "0") ?? 0, limit: limit)
                }
                return now(.json(.array(items.map(InspectorJSON.item))))
            case ("GET", .timeline):
                let page = store.page(conn: conn(request), filter: try filter(request), offset: 0, limit: 0, locating: request.query["seq"].flatMap { Int($0) })
                var members: [JSONValue.Member] = [.init("count", .number(String(page.count)))]
                if let position = page.position { members.append(.init("position", .number(String(position)))) }
                return now(.json(.object(members)))
            case ("GET", .message(let seqText)):
                guard let seq = Int(seqText), let item = store.item(seq: seq) else { return now(.error(404, "no message \(seqText)")) }
                return now(.json(InspectorJSON.item(item)))
            case ("GET", .violations):
                let limit = request.query["limit"].flatMap { Int($0) }
                return now(.json(.array(store.violations(filter: try filter(request), limit: limit).map(InspectorJSON.violation))))
            case ("GET", .capture):
                var out = Array((CaptureRecord.headerLine + "\n").utf8)
                for record in store.allRecords(filter: try filter(request)) { record.appendJSONLine(into: &out) }
                return now(Response(status: 200, contentType: "application/x-ndjson", body: out,
                                    headers: [("Content-Disposition", "attachment; filename=\"basetap-capture.jsonl\"")]))
            case ("GET", .held):
                return now(.json(.array(store.heldMessages.map(InspectorJSON.held))))
            case ("POST", .repeatMessage):
                return try repeatMessage(request, loop)
            case (_, .hold), (_, .settle), (_, .inject):
                guard let proxy = server.proxy else { return now(.error(405, "a capture cannot be changed: holding and injecting need a live proxy (basetap proxy --ui)")) }
                return try control(request, route, proxy, loop)
            default:
                return now(.error(404, "no such API: \(request.method) \(request.path)"))
            }
        } catch let error as MessageFilter.SyntaxError {
            return now(.error(400, "filter \(error)", column: error.column))
        } catch {
            return now(.error(400, "\(error)"))
        }
    }

    private func body(_ request: Request) throws -> [JSONValue.Member] {
        guard case .object(let members) = try JSONValue(parsing: request.body) else { throw BasetapError.usage("the body must be a JSON object") }
        return members
    }

    private func string(_ members: [JSONValue.Member], _ key: String) -> String? {
        guard case .string(let value)? = members.first(where: { $0.key == key })?.value else { return nil }
        return value
    }

    /// The repeater: a client message sent again (edited or not) on a new connection to the same
    /// server, through replay; its answers come back beside the original's.
    private func repeatMessage(_ request: Request, _ loop: EventLoop) throws -> EventLoopFuture<Response> {
        func now(_ response: Response) -> EventLoopFuture<Response> { loop.makeSucceededFuture(response) }
        let members = try body(request)
        guard case .number(let seqText)? = members.first(where: { $0.key == "seq" })?.value, let seq = Int(seqText),
              let item = store.item(seq: seq), item.record.dir == .c2s, item.record.kind.isMessage else {
            return now(.error(400, "send {\"seq\": N} naming a message the client sent (and \"text\" to change it)"))
        }
        let target: ProxyTarget
        if let url = string(members, "target") {
            target = try ProxyTarget(url: url, flag: "target")
        } else if let proxy = server.proxy, case .reverse(let upstream) = proxy.options.mode {
            target = upstream
        } else {
            return now(.error(400, "say where to send it: {\"target\": \"ws://host:port\"} (a capture, or a forward proxy, has no one server)"))
        }
        guard let open = store.open(conn: item.record.conn) else { return now(.error(409, "the connection's upgrade is not in the capture")) }
        var message = item.record
        if let text = string(members, "text") {
            message.payload = Array(text.utf8)
            message.frames = nil
        }
        guard var plan = ReplayConnection.plan([open, message]).first else { return now(.error(409, "nothing to send")) }
        let id = Envelope.id(of: message)
        if let id { plan.expected.insert(id) }
        var options = ReplayOptions(target: target)
        options.pace = .fast
        options.waitAnswers = true
        options.tls = server.proxy?.options.upstreamTLS ?? UpstreamTLS()
        let replayer = try Replayer(options: options, threads: 1)
        let original = id.map { store.answers(conn: item.record.conn, id: $0) } ?? []
        return replayer.replay(plan).hop(to: loop).map { [message] outcome -> Response in
            replayer.shutdown()
            let answers = outcome.records.filter { $0.dir == .s2c && $0.kind.isMessage }
            var result: [JSONValue.Member] = [
                .init("sent", .string(String(decoding: message.payload, as: UTF8.self))),
                .init("answers", .array(answers.map { InspectorJSON.item(InspectorStore.Item(seq: 0, record: $0)) })),
                .init("original", .array(original.map(InspectorJSON.item))),
            ]
            if let failure = outcome.failure { result.append(.init("failure", .string(failure))) }
            return .json(.object(result))
        }
    }

    private func control(_ request: Request, _ route: Route, _ proxy: ProxyServer, _ loop: EventLoop) throws -> EventLoopFuture<Response> {
        func now(_ response: Response) -> EventLoopFuture<Response> { loop.makeSucceededFuture(response) }
        switch (request.method, route) {
        case ("PUT", .hold):
            let text = string(try body(request), "filter") ?? ""
            // A filter with a mistake is a 400 naming its column (see `api`).
            let filter: MessageFilter? = text.trimmingCharacters(in: .whitespaces).isEmpty ? nil : try MessageFilter(text)
            proxy.control.hold(filter)
            return now(.json(.object([.init("filter", .string(filter?.description ?? ""))])))
        case ("POST", .settle(let seqText)):
            guard let seq = Int(seqText), let held = store.heldMessage(seq: seq) else { return now(.error(404, "no held message \(seqText)")) }
            let members = try body(request)
            let release: Release
            switch (string(members, "action"), string(members, "text")) {
            case ("drop", _): release = .drop
            case ("forward", let text?): release = .edit(held.message.record.kind, Array(text.utf8))
            case ("forward", nil): release = .forward
            default: return now(.error(400, "\"action\" is \"forward\" or \"drop\""))
            }
            return proxy.release(conn: held.message.conn, hold: held.message.hold, release).hop(to: loop).map { settled in
                settled ? .json(.object([.init("seq", .number(String(seq))), .init("settled", .bool(true))])) : .error(409, "message \(seq) is no longer held")
            }
        case ("POST", .inject(let id)):
            guard id.hasPrefix("c"), let conn = Int(id.dropFirst()) else { return now(.error(404, "no connection \(id)")) }
            let members = try body(request)
            guard let dirText = string(members, "dir"), let dir = Direction(rawValue: dirText), let text = string(members, "text") else {
                return now(.error(400, "send {\"dir\": \"c2s\" or \"s2c\", \"text\": …}"))
            }
            // A request toward the server with an id: its answer comes back here, not to the client.
            let wantsAnswer = dir == .c2s && Envelope.id(of: CaptureRecord(ts: "", conn: id, dir: dir, kind: .text, payload: Array(text.utf8))) != nil
            guard wantsAnswer else {
                return proxy.inject(conn: conn, dir, Array(text.utf8)).hop(to: loop).map { sent in
                    sent ? .json(.object([.init("sent", .bool(true))])) : .error(409, "connection \(id) is not an open WebSocket connection")
                }
            }
            let answer = loop.makePromise(of: CaptureRecord?.self)
            let timeout = loop.scheduleTask(in: .seconds(10)) { answer.succeed(nil) }
            let deliver: @Sendable (CaptureRecord) -> Void = { record in answer.succeed(record) }
            return proxy.inject(conn: conn, dir, Array(text.utf8), answer: deliver).hop(to: loop).flatMap { (sent: Bool) -> EventLoopFuture<Response> in
                guard sent else {
                    timeout.cancel()
                    answer.succeed(nil)
                    return loop.makeSucceededFuture(.error(409, "connection \(id) is not an open WebSocket connection"))
                }
                return answer.futureResult.map { (record: CaptureRecord?) -> Response in
                    timeout.cancel()
                    let value = record.map { InspectorJSON.item(InspectorStore.Item(seq: 0, record: $0)) } ?? .null
                    return .json(.object([.init("sent", .bool(true)), .init("answer", value)]))
                }
            }
        default:
            return now(.error(405, "\(request.method) is not allowed on \(request.path)"))
        }
    }
}

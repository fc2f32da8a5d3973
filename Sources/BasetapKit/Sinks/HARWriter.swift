import Foundation

/// Writes WebSocket connections as a HAR 1.2 file that browsers' DevTools import (Chrome's
/// `_resourceType: "websocket"` entries with `_webSocketMessages`): one entry per connection,
/// written when the connection ends, the log closed when the writer is. The 101 answer is not in
/// the capture format; it is rebuilt from what the `open` record keeps (accept value, subprotocol,
/// extensions). Close, Ping and Pong are written with their opcodes after the messages' shape,
/// a Close with its `code`, as `HARReader` reads them back.
public final class HARWriter: RecordWriter {
    private let output: OutputFile
    private var open: [String: (record: CaptureRecord, messages: [JSONValue], last: String)] = [:]
    private var order: [String] = []
    private var entries = 0

    public init(output: OutputFile) throws {
        self.output = output
        let creator = JSONValue.object([.init("name", .string("basetap")), .init("version", .string(BasetapVersion.current))])
        try output.write(#"{"log":{"version":"1.2","creator":"# + String(decoding: creator.serialized(), as: UTF8.self) + #","pages":[],"entries":["#)
    }

    public convenience init(path: String) throws {
        try self.init(output: try OutputFile(path: path))
    }

    public func write(_ record: CaptureRecord) throws {
        switch record.kind {
        case .open:
            if open[record.conn] == nil { order.append(record.conn) }
            open[record.conn] = (record, [], record.ts)
        case .end:
            try finish(record.conn, at: record.ts)
        default:
            guard var connection = open[record.conn], let message = Self.message(record) else { return }
            connection.messages.append(message)
            connection.last = record.ts
            open[record.conn] = connection
        }
    }

    public func close() throws {
        for conn in order where open[conn] != nil { try finish(conn, at: open[conn]!.last) }
        try output.write("]}}\n")
        try output.close()
    }

    private func finish(_ conn: String, at end: String) throws {
        guard let connection = open.removeValue(forKey: conn) else { return }
        var text = entries == 0 ? "\n" : ",\n"
        text += String(decoding: Self.entry(connection.record, messages: connection.messages, end: end).serialized(), as: UTF8.self)
        try output.write(text)
        entries += 1
    }

    private static func message(_ record: CaptureRecord) -> JSONValue? {
        guard let dir = record.dir, let seconds = CaptureTime.seconds(record.ts) else { return nil }
        var members: [JSONValue.Member] = [
            .init("type", .string(dir == .c2s ? "send" : "receive")),
            .init("time", .number(String(format: "%.6f", seconds))),
        ]
        switch record.kind {
        case .text:
            members += [.init("opcode", .number("1")), .init("data", .string(record.text ?? String(decoding: record.payload, as: UTF8.self)))]
        case .binary:
            members += [.init("opcode", .number("2")), .init("data", .string(Data(record.payload).base64EncodedString()))]
        case .close:
            members += [.init("opcode", .number("8")), .init("data", .string(record.reason ?? ""))]
            if let code = record.code { members.append(.init("code", .number(String(code)))) }
        case .ping, .pong:
            members += [.init("opcode", .number(record.kind == .ping ? "9" : "10")), .init("data", .string(String(decoding: record.payload, as: UTF8.self)))]
        case .open, .end:
            return nil
        }
        return .object(members)
    }

    private static func pairs(_ headers: [HTTPHeader]) -> JSONValue {
        .array(headers.map { .object([.init("name", .string($0.name)), .init("value", .string($0.value))]) })
    }

    private static func entry(_ open: CaptureRecord, messages: [JSONValue], end: String) -> JSONValue {
        let headers = open.headers ?? []
        let value = { (name: String) in headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value }
        let target = open.url ?? "/"
        let host = value("Host") ?? open.server ?? "localhost"
        let started = CaptureTime.seconds(open.ts) ?? 0
        let milliseconds = max(0, ((CaptureTime.seconds(end) ?? started) - started) * 1000)
        var answer = [HTTPHeader("Upgrade", "websocket"), HTTPHeader("Connection", "Upgrade")]
        if let key = value("Sec-WebSocket-Key") { answer.append(HTTPHeader("Sec-WebSocket-Accept", HandshakeAccept.value(for: key))) }
        if let subprotocol = open.subprotocol { answer.append(HTTPHeader("Sec-WebSocket-Protocol", subprotocol)) }
        if let extensions = open.extensions { answer.append(HTTPHeader("Sec-WebSocket-Extensions", extensions)) }
        let query = URLComponents(string: "ws://\(host)\(target)")?.queryItems ?? []
        var members: [JSONValue.Member] = [
            .init("startedDateTime", .string(open.ts)),
            .init("time", .number(String(format: "%.3f", milliseconds))),
            .init("request", .object([
                .init("method", .string("GET")), .init("url", .string("ws://\(host)\(target)")), .init("httpVersion", .string("HTTP/1.1")),
                .init("headers", pairs(headers)),
                .init("queryString", .array(query.map { .object([.init("name", .string($0.name)), .init("value", .string($0.value ?? ""))]) })),
                .init("cookies", .array([])), .init("headersSize", .number("-1")), .init("bodySize", .number("0")),
            ])),
            .init("response", .object([
                .init("status", .number("101")), .init("statusText", .string("Switching Protocols")), .init("httpVersion", .string("HTTP/1.1")),
                .init("headers", pairs(answer)), .init("cookies", .array([])),
                .init("content", .object([.init("size", .number("0")), .init("mimeType", .string("x-unknown"))])),
                .init("redirectURL", .string("")), .init("headersSize", .number("-1")), .init("bodySize", .number("0")),
            ])),
            .init("cache", .object([])),
            .init("timings", .object(["blocked", "dns", "ssl", "connect"].map { .init($0, .number("-1")) } + ["send", "wait", "receive"].map { .init($0, .number("0")) })),
        ]
        if let server = open.server, let colon = server.lastIndex(of: ":") {
            // "10.0.0.1:9001" or "[::1]:9001", as records name endpoints.
            let address = server[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            members.append(.init("serverIPAddress", .string(address)))
            members.append(.init("connection", .string(String(server[server.index(after: colon)...]))))
        }
        members += [.init("_resourceType", .string("websocket")), .init("_webSocketMessages", .array(messages))]
        return .object(members)
    }
}

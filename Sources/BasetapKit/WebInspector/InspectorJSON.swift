import Foundation

/// The API's objects, as JSON values: one place that says what a connection, a message, a
/// violation or a held message looks like to the page and to scripts.
enum InspectorJSON {
    static func connection(_ c: InspectorStore.Connection) -> JSONValue {
        var members: [JSONValue.Member] = [.init("id", .string(c.id))]
        if let client = c.client { members.append(.init("client", .string(client))) }
        if let server = c.server { members.append(.init("server", .string(server))) }
        if let url = c.url { members.append(.init("url", .string(url))) }
        members += [
            .init("state", .string(c.open ? "open" : "closed")),
            .init("messages", .object([.init("c2s", .number(String(c.messages.c2s))), .init("s2c", .number(String(c.messages.s2c)))])),
            .init("errors", .number(String(c.errors))),
            .init("warnings", .number(String(c.warnings))),
        ]
        return .object(members)
    }

    static func violation(_ v: Violation) -> JSONValue {
        var out: [UInt8] = []
        ViolationFormatter.appendJSON(v, into: &out)
        return (try? JSONValue(parsing: out)) ?? .null
    }

    static func item(_ item: InspectorStore.Item) -> JSONValue {
        let r = item.record
        var members: [JSONValue.Member] = [
            .init("seq", .number(String(item.seq))),
            .init("conn", .string(r.conn)),
        ]
        if let dir = r.dir { members.append(.init("dir", .string(dir.rawValue))) }
        if let index = item.index { members.append(.init("index", .number(String(index)))) }
        members += [.init("ts", .string(r.ts)), .init("kind", .string(r.kind.rawValue)), .init("size", .number(String(r.payload.count)))]
        if r.kind == .text || r.kind == .close {
            if let text = r.text {
                members.append(.init("text", .string(text)))
            } else {
                members.append(.init("base64", .string(Data(r.payload).base64EncodedString())))
            }
        } else if !r.payload.isEmpty {
            members.append(.init("base64", .string(Data(r.payload).base64EncodedString())))
        }
        if let code = r.code { members.append(.init("code", .number(String(code)))) }
        if let reason = r.reason { members.append(.init("reason", .string(reason))) }
        if r.kind == .text, case .object(let envelope)? = try? JSONValue(parsing: r.payload) {
            for key in ["type", "id"] {
                if case .string(let value)? = envelope.first(where: { $0.key == key })?.value { members.append(.init(key, .string(value))) }
            }
        }
        if let control = r.control { members.append(.init("control", .string(control.rawValue))) }
        if let frames = r.frames {
            members.append(.init("frames", .array(frames.map { f in
                .object([
                    .init("fin", .bool(f.fin)), .init("op", .number(String(f.opcode))), .init("rsv", .number(String(f.rsv))),
                    .init("len", .number(String(f.length))), .init("masked", .bool(f.masked)),
                ])
            })))
        }
        members.append(.init("violations", .array(item.violations.map(violation))))
        return .object(members)
    }

    static func held(_ held: InspectorStore.Held) -> JSONValue {
        let r = held.message.record
        var members: [JSONValue.Member] = [
            .init("seq", .number(String(held.seq))), .init("conn", .string(r.conn)),
            .init("dir", .string(r.dir?.rawValue ?? "")), .init("kind", .string(r.kind.rawValue)),
        ]
        if let text = r.text { members.append(.init("text", .string(text))) } else { members.append(.init("base64", .string(Data(r.payload).base64EncodedString()))) }
        return .object(members)
    }

    static func rules() -> JSONValue {
        .array(Rule.all.map { rule in
            .object([.init("id", .string(rule.id)), .init("severity", .string(rule.severity.rawValue)), .init("meaning", .string(rule.meaning))])
        })
    }

    static func error(_ message: String, column: Int? = nil) -> JSONValue {
        var members: [JSONValue.Member] = [.init("error", .string(message))]
        if let column { members.append(.init("column", .number(String(column)))) }
        return .object(members)
    }
}

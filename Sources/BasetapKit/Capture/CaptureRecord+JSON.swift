import Foundation

extension CaptureRecord {
    /// The header line that starts every capture basetap writes.
    public static let headerLine = #"{"format":"basetap-capture","version":1}"#

    /// Appends the record as one JSON line, `\n` included.
    public func appendJSONLine(into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var first = true
        func key(_ name: StaticString) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func string(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONString.encode(value, into: &out)
        }
        if !ts.isEmpty { string("ts", ts) }
        string("conn", conn)
        string("dir", dir?.rawValue)
        string("kind", kind.rawValue)
        switch kind {
        case .text where UTF8Scan.isValid(payload):
            key("text")
            JSONString.encode(payload, into: &out)
        case .text, .binary, .ping, .pong:
            string("base64", Data(payload).base64EncodedString())
        case .open, .close, .end:
            break
        }
        if let code {
            key("code")
            out.append(contentsOf: String(code).utf8)
        }
        string("reason", reason)
        string("url", url)
        if let headers {
            key("headers")
            out.append(UInt8(ascii: "["))
            for (i, header) in headers.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "["))
                JSONString.encode(header.name, into: &out)
                out.append(UInt8(ascii: ","))
                JSONString.encode(header.value, into: &out)
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "]"))
        }
        string("subprotocol", subprotocol)
        string("extensions", extensions)
        string("client", client)
        string("server", server)
        if let frames {
            key("frames")
            out.append(UInt8(ascii: "["))
            for (i, f) in frames.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: #"{"fin":\#(f.fin),"op":\#(f.opcode),"rsv":\#(f.rsv),"len":\#(f.length),"masked":\#(f.masked)}"#.utf8)
            }
            out.append(UInt8(ascii: "]"))
        }
        string("error", error)
        if let mutation {
            key("mutation")
            JSONValue.object([
                .init("seed", .number(String(mutation.seed))), .init("ops", .array(mutation.ops.map { .string($0) })),
            ]).write(into: &out)
        }
        if raw {
            key("raw")
            out.append(contentsOf: "true".utf8)
        }
        string("request", request)
        string("control", control?.rawValue)
        if let finding {
            key("finding")
            JSONValue.object([
                .init("oracle", .string(finding.oracle)), .init("symptom", .string(finding.symptom)), .init("detail", .string(finding.detail)),
            ]).write(into: &out)
        }
        for member in unknown {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONString.encode(member.key, into: &out)
            out.append(UInt8(ascii: ":"))
            member.value.write(into: &out)
        }
        out.append(contentsOf: [UInt8(ascii: "}"), UInt8(ascii: "\n")])
    }

    public var jsonLine: String {
        var out: [UInt8] = []
        appendJSONLine(into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

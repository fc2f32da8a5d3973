import Foundation

/// Reads the WebSocket sessions of a HAR file (an HTTP Archive, as browsers' DevTools export it)
/// into capture records. Each entry with WebSocket messages is a connection: its request (URL and
/// headers), the 101's subprotocol and extensions, then the messages of Chrome's
/// `_webSocketMessages` extension, which Edge, Firefox, mitmproxy, HTTP Toolkit and Proxyman
/// write too: `send` is the client's, `receive` the server's, `time` seconds since 1970, `opcode`
/// 1 (text, as it is) or 2 (binary, in base64); Close, Ping and Pong when a tool records them.
/// Other entries are ordinary requests: counted, not read.
public enum HARReader {
    public struct Result {
        public var records: [CaptureRecord] = []
        /// Entries that were not WebSocket sessions (pages, scripts, API calls).
        public var otherEntries = 0
    }

    public static func read(path: String) throws -> Result {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw BasetapError.input(place: path, message: "cannot read (\(error.localizedDescription))")
        }
        let document: JSONValue
        do {
            document = try JSONValue(parsing: data, maxDepth: 64)
        } catch {
            throw BasetapError.input(place: path, message: "not a HAR file: \(error)")
        }
        guard let entries = document["log"]?["entries"]?.arrayValue else {
            throw BasetapError.input(place: path, message: "not a HAR file: no \"log\".\"entries\" array")
        }
        var result = Result()
        var number = 0
        for (index, entry) in entries.enumerated() {
            let place = "\(path): log.entries[\(index)]"
            guard let messages = entry["_webSocketMessages"]?.arrayValue ?? (isWebSocket(entry) ? [] : nil) else {
                result.otherEntries += 1
                continue
            }
            number += 1
            result.records += try connection(entry, messages: messages, conn: "h\(number)", place: place)
        }
        return result
    }

    private static func isWebSocket(_ entry: JSONValue) -> Bool {
        entry["_resourceType"]?.stringValue == "websocket" || entry["response"]?["status"]?.numberText == "101"
    }

    private static func connection(_ entry: JSONValue, messages: [JSONValue], conn: String, place: String) throws -> [CaptureRecord] {
        guard let request = entry["request"], let url = request["url"]?.stringValue, let components = URLComponents(string: url) else {
            throw BasetapError.input(place: place, message: "a WebSocket entry needs \"request\".\"url\"")
        }
        let started = entry["startedDateTime"]?.stringValue.flatMap(CaptureTime.seconds)
        let firstMessage = messages.lazy.compactMap { $0["time"]?.numberText.flatMap(Double.init) }.first
        guard let opened = started ?? firstMessage else {
            throw BasetapError.input(place: place, message: "no \"startedDateTime\" and no message time")
        }
        var open = CaptureRecord(ts: timestamp(opened), conn: conn, kind: .open)
        var target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { target += "?\(query)" }
        open.url = target
        open.headers = headers(request["headers"])
        let answer = headers(entry["response"]?["headers"])
        open.subprotocol = answer.first { $0.name.caseInsensitiveCompare("Sec-WebSocket-Protocol") == .orderedSame }?.value
        open.extensions = answer.first { $0.name.caseInsensitiveCompare("Sec-WebSocket-Extensions") == .orderedSame }?.value
        if let host = components.host {
            let port = components.port ?? (components.scheme == "wss" || components.scheme == "https" ? 443 : 80)
            let address = entry["serverIPAddress"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? host
            open.server = address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        }
        var records = [open]
        var last = opened
        for (i, message) in messages.enumerated() {
            let at = "\(place)._webSocketMessages[\(i)]"
            let dir: Direction
            switch message["type"]?.stringValue {
            case "send": dir = .c2s
            case "receive": dir = .s2c
            default: throw BasetapError.input(place: at, message: "\"type\" must be \"send\" or \"receive\"")
            }
            guard let time = message["time"]?.numberText.flatMap(Double.init) else {
                throw BasetapError.input(place: at, message: "\"time\" must be a number (seconds since 1970)")
            }
            let data = message["data"]?.stringValue ?? ""
            let opcode = message["opcode"]?.numberText.flatMap { UInt8($0) } ?? 1
            var record: CaptureRecord
            switch WebSocketOpcode(rawValue: opcode) {
            case .text, .continuation:
                record = CaptureRecord(ts: timestamp(time), conn: conn, dir: dir, kind: .text, payload: Array(data.utf8))
            case .binary:
                guard let bytes = Data(base64Encoded: data) else {
                    throw BasetapError.input(place: at, message: "a binary message's \"data\" must be base64")
                }
                record = CaptureRecord(ts: timestamp(time), conn: conn, dir: dir, kind: .binary, payload: Array(bytes))
            case .close:
                record = CaptureRecord(ts: timestamp(time), conn: conn, dir: dir, kind: .close)
                record.code = message["code"]?.numberText.flatMap { Int($0) }
                record.reason = message["reason"]?.stringValue ?? (data.isEmpty ? nil : data)
            case .ping, .pong:
                record = CaptureRecord(ts: timestamp(time), conn: conn, dir: dir, kind: opcode == 9 ? .ping : .pong, payload: Array(data.utf8))
            case nil:
                throw BasetapError.input(place: at, message: "opcode \(opcode) is not a WebSocket opcode")
            }
            last = max(last, time)
            records.append(record)
        }
        let duration = entry["time"]?.numberText.flatMap(Double.init).map { opened + $0 / 1000 } ?? last
        records.append(CaptureRecord(ts: timestamp(max(last, duration)), conn: conn, kind: .end))
        return records
    }

    private static func headers(_ value: JSONValue?) -> [HTTPHeader] {
        (value?.arrayValue ?? []).compactMap { header in
            guard let name = header["name"]?.stringValue, let value = header["value"]?.stringValue, !name.hasPrefix(":") else { return nil }
            return HTTPHeader(name, value)
        }
    }

    /// A time from the file, whatever it holds: past what the format can write, it is clamped.
    private static func timestamp(_ seconds: Double) -> String {
        let microseconds = (seconds * 1_000_000).rounded()
        guard microseconds.isFinite, microseconds > 0 else { return CaptureTime.format(nanoseconds: 0) }
        return CaptureTime.format(nanoseconds: microseconds >= Double(Int64.max / 1000) ? Int64.max : Int64(microseconds) * 1000)
    }
}

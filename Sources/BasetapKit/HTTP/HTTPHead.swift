import Foundation

/// The head of an HTTP/1.1 request or response: start line and headers in wire order, names as
/// written. Enough for the WebSocket upgrade, which is all basetap needs from HTTP.
public struct HTTPHead: Sendable, Equatable {
    public var startLine: [String]
    public var headers: [HTTPHeader]

    public var isRequest: Bool { !(startLine.first?.hasPrefix("HTTP/") ?? false) }
    public var target: String? { isRequest && startLine.count > 1 ? startLine[1] : nil }
    public var status: Int? { !isRequest && startLine.count > 1 ? Int(startLine[1]) : nil }
    public var method: String? { isRequest ? startLine.first : nil }
    public var asksForWebSocket: Bool { isRequest && value("Upgrade")?.lowercased() == "websocket" }
    /// `Connection: close`: nothing follows this message on the connection.
    public var closesConnection: Bool {
        headers.contains { $0.name.caseInsensitiveCompare("Connection") == .orderedSame && $0.value.lowercased().split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "close" } }
    }

    /// The first value of a header, by case-insensitive name.
    public func value(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

}

/// Collects bytes until a complete HTTP head (`\r\n\r\n`) is there, then parses it.
public struct HTTPHeadReader: Sendable {
    public static let defaultMaxHeadSize = 64 << 10

    public enum Result: Sendable, Equatable {
        case needMore
        /// The head, and the bytes that followed it.
        case head(HTTPHead, rest: [UInt8])
        /// Not HTTP, with why.
        case notHTTP(String)
        /// No end of the head within `maxHeadSize` bytes.
        case tooLong
    }

    public let maxHeadSize: Int
    private var buffer: [UInt8] = []

    public init(maxHeadSize: Int = HTTPHeadReader.defaultMaxHeadSize) {
        self.maxHeadSize = maxHeadSize
    }

    public mutating func feed<C: Collection<UInt8>>(_ bytes: C) -> Result {
        let searchFrom = max(0, buffer.count - 3)
        buffer.append(contentsOf: bytes)
        if buffer.count >= 4 && !Self.looksLikeHTTP(buffer) { return .notHTTP("does not start with an HTTP request or status line") }
        var i = searchFrom
        while i + 3 < buffer.count {
            if buffer[i] == 0x0D && buffer[i + 1] == 0x0A && buffer[i + 2] == 0x0D && buffer[i + 3] == 0x0A {
                guard let head = Self.parse(buffer[..<i]) else { return .notHTTP("malformed HTTP head") }
                return .head(head, rest: Array(buffer[(i + 4)...]))
            }
            i += 1
        }
        if buffer.count > maxHeadSize { return .tooLong }
        return .needMore
    }

    static func looksLikeHTTP(_ b: [UInt8]) -> Bool {
        // A method token (uppercase letters) then a space, or "HTTP/".
        if b.starts(with: Array("HTTP/".utf8).prefix(b.count)) { return true }
        for (i, c) in b.prefix(16).enumerated() {
            if c == 0x20 { return i > 0 }
            if !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c) { return false }
        }
        return b.count < 16
    }

    /// Parses on bytes: heads can be a megabyte of headers (a fuzz case, or a hostile client), and
    /// splitting them as Foundation strings cost more than everything else done with them.
    static func parse(_ bytes: ArraySlice<UInt8>) -> HTTPHead? {
        var lines: [ArraySlice<UInt8>] = []
        var from = bytes.startIndex
        var i = from
        while i + 1 < bytes.endIndex {
            if bytes[i] == 0x0D && bytes[i + 1] == 0x0A {
                lines.append(bytes[from..<i])
                i += 2
                from = i
            } else {
                i += 1
            }
        }
        lines.append(bytes[from...])
        let start = lines[0].split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard start.count >= 2 else { return nil }
        func trimmed(_ part: ArraySlice<UInt8>) -> String {
            let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
            guard let first = part.firstIndex(where: { !blank($0) }), let last = part.lastIndex(where: { !blank($0) }) else { return "" }
            return String(decoding: part[first...last], as: UTF8.self)
        }
        var headers: [HTTPHeader] = []
        for line in lines.dropFirst() {
            if let first = line.first, first == 0x20 || first == 0x09, !headers.isEmpty {
                headers[headers.count - 1].value += " " + trimmed(line)  // obsolete folding
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            headers.append(HTTPHeader(String(decoding: line[..<colon], as: UTF8.self), trimmed(line[(colon + 1)...])))
        }
        return HTTPHead(startLine: start, headers: headers)
    }
}

import Foundation

/// The head of an HTTP/1.1 request or response: start line and headers in wire order, names as
/// written. Enough for the WebSocket upgrade, which is all basetap needs from HTTP.
public struct HTTPHead: Sendable, Equatable {
    public var startLine: [String]
    public var headers: [CaptureRecord.Header]

    public var isRequest: Bool { !(startLine.first?.hasPrefix("HTTP/") ?? false) }
    public var target: String? { isRequest && startLine.count > 1 ? startLine[1] : nil }
    public var status: Int? { !isRequest && startLine.count > 1 ? Int(startLine[1]) : nil }

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
        /// Not HTTP (or a head past the size limit), with why.
        case notHTTP(String)
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
        if buffer.count > maxHeadSize { return .notHTTP("HTTP head longer than \(maxHeadSize) bytes") }
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

    static func parse(_ bytes: ArraySlice<UInt8>) -> HTTPHead? {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        guard !lines.isEmpty else { return nil }
        let start = lines.removeFirst().split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard start.count >= 2 else { return nil }
        var headers: [CaptureRecord.Header] = []
        for line in lines {
            if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)  // obsolete folding
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers.append(CaptureRecord.Header(
                String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return HTTPHead(startLine: start, headers: headers)
    }
}

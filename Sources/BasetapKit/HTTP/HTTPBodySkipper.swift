/// Passes over one HTTP/1.1 body of a known length or in chunks, fed in pieces as they arrive,
/// to find where the next message on a keep-alive connection begins.
public struct HTTPBodySkipper: Sendable {
    public enum Result: Sendable, Equatable {
        case needMore
        /// The body is over; what follows it.
        case done(rest: ArraySlice<UInt8>)
        case malformed(String)
    }

    enum State: Sendable {
        case remaining(Int)
        /// A chunk-size line, as much of it as has arrived.
        case chunkSize(line: [UInt8])
        case chunkData(remaining: Int)
        /// The line end after a chunk's data (CRLF, or a bare LF as lenient servers write).
        case chunkEnd(sawCR: Bool)
        /// Trailer fields after the last chunk, up to an empty line: the length of the current line.
        case trailers(lineLength: Int)
    }

    static let maxLineLength = 8 << 10
    private var state: State

    /// For `.length` and `.chunked` framing; the others have no body to pass over.
    public init?(_ framing: HTTPBodyFraming) {
        switch framing {
        case .length(let n): state = .remaining(n)
        case .chunked: state = .chunkSize(line: [])
        case .none, .untilClose, .malformed: return nil
        }
    }

    public mutating func skip(_ bytes: ArraySlice<UInt8>) -> Result {
        var i = bytes.startIndex
        while true {
            switch state {
            case .remaining(let n):
                let take = min(n, bytes.endIndex - i)
                i += take
                if take == n { return .done(rest: bytes[i...]) }
                state = .remaining(n - take)
                return .needMore
            case .chunkSize(var line):
                guard let lf = bytes[i...].firstIndex(of: 0x0A) else {
                    line.append(contentsOf: bytes[i...])
                    state = .chunkSize(line: line)
                    return line.count > Self.maxLineLength ? .malformed("a chunk-size line of more than \(Self.maxLineLength) bytes") : .needMore
                }
                line.append(contentsOf: bytes[i..<lf])
                i = lf + 1
                guard let size = Self.chunkSize(line) else {
                    return .malformed("a chunk-size line \"\(String(decoding: line.prefix(40), as: UTF8.self))\" that is not hexadecimal")
                }
                state = size == 0 ? .trailers(lineLength: 0) : .chunkData(remaining: size)
            case .chunkData(let n):
                let take = min(n, bytes.endIndex - i)
                i += take
                guard take == n else {
                    state = .chunkData(remaining: n - take)
                    return .needMore
                }
                state = .chunkEnd(sawCR: false)
            case .chunkEnd(let sawCR):
                guard i < bytes.endIndex else { return .needMore }
                let c = bytes[i]
                i += 1
                if c == 0x0D && !sawCR {
                    state = .chunkEnd(sawCR: true)
                } else if c == 0x0A {
                    state = .chunkSize(line: [])
                } else {
                    return .malformed("no line end after a chunk's data")
                }
            case .trailers(let length):
                // Line lengths leave out CRs, so a line whose CR and LF arrive apart still reads as empty.
                let end = bytes[i...].firstIndex(of: 0x0A)
                let lineLength = length + bytes[i..<(end ?? bytes.endIndex)].count { $0 != 0x0D }
                guard let end else {
                    state = .trailers(lineLength: lineLength)
                    return lineLength > Self.maxLineLength ? .malformed("a trailer line of more than \(Self.maxLineLength) bytes") : .needMore
                }
                i = end + 1
                if lineLength == 0 { return .done(rest: bytes[i...]) }
                state = .trailers(lineLength: 0)
            }
        }
    }

    /// The size before any chunk extension (`;name=value`), lenient about the CR being there.
    private static func chunkSize(_ line: [UInt8]) -> Int? {
        var digits = line.prefix { $0 != UInt8(ascii: ";") }[...]
        if digits.last == 0x0D { digits = digits.dropLast() }
        while digits.last == 0x20 || digits.last == 0x09 { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.count <= 15 else { return nil }
        var size = 0
        for c in digits {
            guard let digit = hexDigit(c) else { return nil }
            size = size << 4 | digit
        }
        return size
    }

    private static func hexDigit(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: Int(c - 0x30)
        case 0x41...0x46: Int(c - 0x41 + 10)
        case 0x61...0x66: Int(c - 0x61 + 10)
        default: nil
        }
    }
}

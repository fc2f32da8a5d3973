import Foundation

/// Reads `\n`-terminated lines from a file descriptor in large chunks, in constant memory
/// (bounded by the longest line), handing each line out without copying it.
struct LineReader {
    static let chunk = 1 << 20

    private let fd: Int32?
    private let name: String
    private let maxLineLength: Int
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var scanFrom = 0
    private var eof = false
    private(set) var lineNumber = 0
    /// Bytes handed out so far, for progress display.
    private(set) var bytesConsumed = 0

    init(fd: Int32, name: String, maxLineLength: Int) {
        self.fd = fd
        self.name = name
        self.maxLineLength = maxLineLength
        buffer = [UInt8](repeating: 0, count: Self.chunk)
    }

    init(bytes: [UInt8], name: String) {
        fd = nil
        self.name = name
        maxLineLength = Int.max
        buffer = bytes
        end = bytes.count
        eof = true
    }

    /// Calls `body` with the next line (without its `\n` or a trailing `\r`) and its 1-based number,
    /// or returns nil at the end.
    mutating func next<R>(_ body: (UnsafeRawBufferPointer, _ lineNumber: Int) throws -> R) throws -> R? {
        while true {
            let found = buffer.withUnsafeBytes { ByteSearch.first(0x0A, in: $0, scanFrom, end) }
            if let newline = found {
                return try emit(start..<newline, next: newline + 1, body)
            }
            scanFrom = end
            if eof {
                guard start < end else { return nil }
                return try emit(start..<end, next: end, body)
            }
            try fill()
        }
    }

    private mutating func emit<R>(
        _ range: Range<Int>, next: Int, _ body: (UnsafeRawBufferPointer, Int) throws -> R
    ) throws -> R {
        lineNumber += 1
        bytesConsumed += next - start
        start = next
        scanFrom = next
        let number = lineNumber
        return try buffer.withUnsafeBytes { try body(Self.withoutCR(UnsafeRawBufferPointer(rebasing: $0[range])), number) }
    }

    /// A line without the `\r` of a CRLF ending.
    static func withoutCR(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        line.last == 0x0D ? UnsafeRawBufferPointer(rebasing: line.dropLast()) : line
    }

    private mutating func fill() throws {
        guard let fd else {
            eof = true
            return
        }
        if start > 0 {
            let count = end - start
            buffer.withUnsafeMutableBytes { raw in
                _ = memmove(raw.baseAddress!, raw.baseAddress! + start, count)
            }
            end = count
            scanFrom -= start
            start = 0
        }
        if end == buffer.count {
            guard buffer.count < maxLineLength else {
                throw BasetapError.input(
                    place: "\(name):\(lineNumber + 1)", message: "line is longer than \(maxLineLength) bytes")
            }
            buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, maxLineLength - buffer.count)))
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + end, $0.count - end) }
            if n < 0 {
                if errno == EINTR { continue }
                throw BasetapError.input(place: name, message: "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { eof = true } else { end += n }
            return
        }
    }
}

import Foundation

/// Streams the records of a JSONL capture (CAPTURE-FORMAT.md) in constant memory.
public final class JSONLCaptureReader {
    public static let defaultMaxLineLength = 1 << 30

    public let name: String
    /// Whether a malformed line stops reading or is counted and passed over, and those passed over.
    public var malformed = MalformedLines(skip: false)
    private var lines: LineReader
    private var parser = CaptureLineParser()
    private let ownedDescriptor: Int32?

    /// Opens `path`; `-` reads standard input.
    public init(path: String, maxLineLength: Int = JSONLCaptureReader.defaultMaxLineLength) throws {
        if path == "-" {
            name = "standard input"
            ownedDescriptor = nil
            lines = LineReader(fd: STDIN_FILENO, name: name, maxLineLength: maxLineLength)
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw BasetapError.input(place: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        var info = stat()
        if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw BasetapError.input(place: path, message: "is a directory, not a capture")
        }
        name = path
        ownedDescriptor = fd
        lines = LineReader(fd: fd, name: path, maxLineLength: maxLineLength)
    }

    public init(bytes: [UInt8], name: String = "capture") {
        self.name = name
        ownedDescriptor = nil
        lines = LineReader(bytes: bytes, name: name)
    }

    deinit {
        if let ownedDescriptor { close(ownedDescriptor) }
    }

    /// Calls `body` with every record in order. Malformed lines throw `BasetapError.input`
    /// naming the line, unless `malformed` skips them.
    public func forEach(_ body: (CaptureLine) throws -> Void) throws {
        try forEach(progress: nil, body)
    }

    /// As `forEach(_:)`, calling `progress` with the bytes read so far every few thousand lines.
    public func forEach(progress: ((Int) -> Void)?, _ body: (CaptureLine) throws -> Void) throws {
        // Work on local copies: class properties pay a dynamic exclusivity check on every access.
        var lines = LineReader(bytes: [], name: name)
        var parser = CaptureLineParser()
        swap(&lines, &self.lines)
        swap(&parser, &self.parser)
        defer {
            swap(&lines, &self.lines)
            swap(&parser, &self.parser)
        }
        var malformed = self.malformed
        defer { self.malformed = malformed }
        let name = self.name
        while let number = try lines.next({ line, number in
            do {
                _ = try parser.parse(line, body)
            } catch let problem as LineProblem {
                try malformed.note(problem, file: name, line: number)
            }
            return number
        }) {
            if number & 0x3FFF == 0 { progress?(lines.bytesConsumed) }
        }
    }

    /// Every record as a value (for small captures: replay, fuzz seeds, tests).
    public func readAll() throws -> [CaptureRecord] {
        var records: [CaptureRecord] = []
        try forEach { records.append(try $0.record()) }
        return records
    }

}

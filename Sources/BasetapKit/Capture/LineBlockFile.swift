import Foundation

/// A regular file taken a block of whole lines at a time by threads that share each block
/// (`check --jobs`). The file says where a block ends, reading only around its end; the threads
/// then read the block's bytes themselves, each a share, into a buffer used again for a later
/// block. So the copy is made in parallel, by the core that looks at the bytes next, and memory
/// stays flat whatever the size of the file. (A memory map spares the copy but costs more: its page
/// faults and, for a map that several threads have read, the unmapping.)
final class LineBlockFile: Sendable {
    /// The most of the file a block holds, unless one line is longer (it is taken whole).
    static let blockBytes = 2 << 20
    /// How much is read at a time while looking back for a block's last newline.
    private static let lookBack = 16 << 10

    let name: String
    /// The file's size when it was opened: all that is read, even if the file grows meanwhile.
    let size: Int
    private let fd: Int32
    private let maxLineLength: Int

    init(path: String, maxLineLength: Int = JSONLCaptureReader.defaultMaxLineLength) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw BasetapError.input(place: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw BasetapError.input(place: path, message: "cannot read: \(message)")
        }
        name = path
        size = Int(info.st_size)
        self.maxLineLength = maxLineLength
    }

    deinit { close(fd) }

    /// The block that starts at `position` (at a line's start): whole lines of about `bytes` (at
    /// most `blockBytes`), each with its `\n` but a last one without; nil at the end. A line of
    /// `maxLineLength` bytes or more is an error that names it: `linesBefore` is the number of
    /// lines before `position`.
    func block(at position: Int, linesBefore: Int, bytes: Int = LineBlockFile.blockBytes) throws -> Range<Int>? {
        guard position < size else { return nil }
        // A window no longer than the limit: a line with its newline inside one is shorter.
        var want = min(max(1, min(bytes, Self.blockBytes)), maxLineLength)
        while true {
            let end = min(size, position + want)
            // The line after the last newline is whole only at the end of the file, and then taken
            // unless it is too long (reported when the next block is asked for).
            if end == size && end - position < maxLineLength { return position..<end }
            if let newline = try lastNewline(in: position..<end) { return position..<newline + 1 }
            if end - position >= maxLineLength {
                throw BasetapError.input(place: "\(name):\(linesBefore + 1)", message: "line is longer than \(maxLineLength) bytes")
            }
            want = min(want * 2, maxLineLength)
        }
    }

    /// Reads `range` of the file to `destination`. Safe from several threads at once.
    func read(_ range: Range<Int>, into destination: UnsafeMutableRawPointer) throws {
        var done = 0
        while done < range.count {
            let count = pread(fd, destination + done, range.count - done, off_t(range.lowerBound + done))
            if count > 0 {
                done += count
            } else if count == 0 {
                throw BasetapError.input(place: name, message: "the file was cut short while it was being read (another program truncated it)")
            } else if errno != EINTR {
                throw BasetapError.input(place: name, message: "cannot read: \(String(cString: strerror(errno)))")
            }
        }
    }

    private func lastNewline(in range: Range<Int>) throws -> Int? {
        var chunk = [UInt8](repeating: 0, count: Self.lookBack)
        var end = range.upperBound
        while end > range.lowerBound {
            let start = max(range.lowerBound, end - Self.lookBack)
            try chunk.withUnsafeMutableBytes { try read(start..<end, into: $0.baseAddress!) }
            if let newline = chunk.withUnsafeBytes({ ByteSearch.last(0x0A, in: $0, 0, end - start) }) { return start + newline }
            end = start
        }
        return nil
    }
}

import Foundation
import Synchronization

/// A regular file read through a memory map, a block of whole lines at a time, for readers that
/// share a block between threads (`check --jobs`): nothing is copied, and a block is unmapped as
/// soon as its holder lets it go, so memory stays flat whatever the size of the file.
final class MappedLineBlocks {
    /// Whole lines, each with its `\n` but a last one without; mapped while this is held. Only read,
    /// so threads may share it.
    final class Block: @unchecked Sendable {
        let bytes: UnsafeRawBufferPointer
        private let mapping: (base: UnsafeMutableRawPointer, length: Int)

        fileprivate init(_ bytes: UnsafeRawBufferPointer, mapping: (base: UnsafeMutableRawPointer, length: Int)) {
            self.bytes = bytes
            self.mapping = mapping
        }

        deinit { munmap(mapping.base, mapping.length) }
    }

    /// The most of the file a block holds, unless one line is longer (it is taken whole).
    static let blockBytes = 2 << 20

    let name: String
    let size: Int
    private let fd: Int32
    private let maxLineLength: Int
    private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// The file offset of the next block.
    private(set) var position = 0

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
        ShrinkingFile.watch(path)
    }

    deinit {
        ShrinkingFile.forget()
        close(fd)
    }

    /// The next block, of about `bytes` (at most `blockBytes`), or nil at the end.
    /// A line of `maxLineLength` bytes or more is an error that names it: `linesBefore` is the
    /// number of lines in the blocks taken so far.
    func next(linesBefore: Int, bytes: Int = MappedLineBlocks.blockBytes) throws -> Block? {
        guard position < size else { return nil }
        // A window no longer than the limit: a line with its newline inside one is shorter.
        var want = min(max(1, min(bytes, Self.blockBytes)), maxLineLength)
        while true {
            let start = position - position % pageSize
            let end = min(size, position + want)
            guard let base = mmap(nil, end - start, PROT_READ, MAP_PRIVATE, fd, off_t(start)), base != MAP_FAILED else {
                throw BasetapError.input(place: name, message: "cannot map: \(String(cString: strerror(errno)))")
            }
            let mapping = (base: base, length: end - start)
            let content = base + (position - start)
            let length = end - position
            let lastNewline = Self.lastNewline(UnsafeRawBufferPointer(start: content, count: length))
            let tail = length - (lastNewline.map { $0 + 1 } ?? 0)
            // Whole lines up to the last newline; the line after it is whole only at the end of the
            // file, and then taken unless it is too long (reported when the next block is asked for).
            if end == size && tail < maxLineLength {
                position = end
                return Block(UnsafeRawBufferPointer(start: content, count: length), mapping: mapping)
            }
            if let lastNewline {
                position += lastNewline + 1
                return Block(UnsafeRawBufferPointer(start: content, count: lastNewline + 1), mapping: mapping)
            }
            if length >= maxLineLength {
                munmap(base, mapping.length)
                throw BasetapError.input(place: "\(name):\(linesBefore + 1)", message: "line is longer than \(maxLineLength) bytes")
            }
            munmap(base, mapping.length)
            want = min(want * 2, maxLineLength)
        }
    }

    private static func lastNewline(_ p: UnsafeRawBufferPointer) -> Int? {
        var i = p.count
        while i > 0 {
            i -= 1
            if p[i] == 0x0A { return i }
        }
        return nil
    }
}

/// A mapped file that another program truncates raises SIGBUS at the next read of a page past its
/// new end, on whichever thread reads it: rather than dying of the signal without a word, basetap
/// names the file and exits 2, as for other bad input. Only `write` and `_exit` run in the
/// handler (both async-signal-safe); a SIGBUS while no file is mapped keeps its default action.
private enum ShrinkingFile {
    static func watch(_ path: String) {
        installHandler
        let text = Array("basetap: \(path): the file was cut short while it was being read (another program truncated it)\n".utf8)
        let message = UnsafeMutablePointer<UInt8>.allocate(capacity: text.count)
        message.initialize(from: text, count: text.count)
        let old = shrinkMessage
        shrinkMessageLength = 0
        shrinkMessage = message
        shrinkMessageLength = text.count
        old?.deallocate()
    }

    static func forget() {
        shrinkMessageLength = 0
    }

    /// Every thread that reads past the new end gets a SIGBUS of its own: the first says so and
    /// exits, the others wait for that exit rather than say it again.
    private static let reported = Atomic<Bool>(false)

    private static let installHandler: Void = {
        _ = reported.load(ordering: .relaxed)  // made here: a first use in the handler would initialize it there
        signal(SIGBUS) { _ in
            guard shrinkMessageLength > 0, let message = shrinkMessage else {
                signal(SIGBUS, SIG_DFL)  // the faulting read runs again and ends the process as before
                return
            }
            guard reported.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else {
                while true { pause() }
            }
            _ = write(STDERR_FILENO, message, shrinkMessageLength)
            _exit(2)
        }
    }()
}

/// What the SIGBUS handler writes; set before a file is mapped, read only by the handler.
nonisolated(unsafe) private var shrinkMessage: UnsafeMutablePointer<UInt8>?
nonisolated(unsafe) private var shrinkMessageLength = 0

import Foundation

/// A buffered writer on a file descriptor: one `write(2)` per 64 KiB instead of one per line.
/// It writes everything it is given (short writes and EINTR are retried) and reports failures
/// such as a full disk as errors instead of dropping data.
public final class OutputFile: @unchecked Sendable {
    public let name: String
    public let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private let capacity: Int

    public static let standardOutput = OutputFile(fd: STDOUT_FILENO, name: "standard output")
    public static let standardError = OutputFile(fd: STDERR_FILENO, name: "standard error", capacity: 0)

    public init(fd: Int32, name: String, capacity: Int = 1 << 16, ownsDescriptor: Bool = false) {
        self.fd = fd
        self.name = name
        self.capacity = capacity
        self.ownsDescriptor = ownsDescriptor
        buffer.reserveCapacity(capacity)
    }

    /// Creates (or truncates) `path`; `-` is standard output.
    public convenience init(path: String, mode: mode_t = 0o644) throws {
        if path == "-" {
            self.init(fd: STDOUT_FILENO, name: "standard output")
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw BasetapError.input(place: path, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        self.init(fd: fd, name: path, ownsDescriptor: true)
    }

    public var isTerminal: Bool { isatty(fd) == 1 }

    public func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { try flush() }
    }

    public func write(_ string: String) throws {
        buffer.append(contentsOf: string.utf8)
        if buffer.count >= capacity { try flush() }
    }

    /// Appends into the buffer in place, avoiding a temporary array per line.
    public func append(_ body: (inout [UInt8]) -> Void) throws {
        body(&buffer)
        if buffer.count >= capacity { try flush() }
    }

    public func flush() throws {
        var offset = 0
        defer { buffer.removeFirst(offset) }
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw BasetapError.input(place: name, message: "write failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    public func close() throws {
        try flush()
        if ownsDescriptor {
            if fsync(fd) != 0 && errno != EINVAL && errno != EROFS {
                throw BasetapError.input(place: name, message: "sync failed: \(String(cString: strerror(errno)))")
            }
            Foundation.close(fd)
        }
    }
}

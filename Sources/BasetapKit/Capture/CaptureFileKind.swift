import Foundation

/// The capture formats basetap reads, told apart by their first bytes rather than by file name.
public enum CaptureFileKind: String, Sendable {
    case jsonl, pcap, pcapng, har

    /// Looks at the first bytes of `path`. Standard input (`-`), a pipe or a process substitution
    /// is taken as JSONL without a look: what is read from it once is gone for the reader after.
    public static func detect(path: String) throws -> CaptureFileKind {
        guard path != "-", fileType(path) != S_IFIFO else { return .jsonl }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot open (permission denied)" : "no such file"
            throw BasetapError.input(place: path, message: reason)
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 256)) ?? Data())
        return detect(head: head)
    }

    /// A file that can be opened and read again from its start (not standard input or a pipe).
    static func isRegularFile(_ path: String) -> Bool {
        path != "-" && fileType(path) == S_IFREG
    }

    private static func fileType(_ path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & S_IFMT : nil
    }

    public static func detect(head: [UInt8]) -> CaptureFileKind {
        if isHAR(head) { return .har }
        guard head.count >= 4 else { return .jsonl }
        switch (head[0], head[1], head[2], head[3]) {
        case (0xD4, 0xC3, 0xB2, 0xA1), (0xA1, 0xB2, 0xC3, 0xD4), (0x4D, 0x3C, 0xB2, 0xA1), (0xA1, 0xB2, 0x3C, 0x4D):
            return .pcap
        case (0x0A, 0x0D, 0x0D, 0x0A):
            return .pcapng
        default:
            return .jsonl
        }
    }

    /// A JSON object whose first member is `"log"`: a HAR, however it is indented. A JSONL
    /// capture's first line is an object too, but begins with "format" or "ts".
    static func isHAR(_ head: [UInt8]) -> Bool {
        var rest = head[...]
        if rest.starts(with: [0xEF, 0xBB, 0xBF]) { rest = rest.dropFirst(3) }
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        rest = rest.drop(while: blank)
        guard rest.first == UInt8(ascii: "{") else { return false }
        return rest.dropFirst().drop(while: blank).starts(with: Array(#""log""#.utf8))
    }
}

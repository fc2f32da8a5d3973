import Foundation

/// The capture formats basetap reads, told apart by their first bytes rather than by file name.
public enum CaptureFileKind: String, Sendable {
    case jsonl, pcap, pcapng

    /// Looks at the first four bytes of `path` (`-` is taken as JSONL).
    public static func detect(path: String) throws -> CaptureFileKind {
        guard path != "-" else { return .jsonl }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot open (permission denied)" : "no such file"
            throw BasetapError.input(place: path, message: reason)
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 4)) ?? Data())
        return detect(head: head)
    }

    public static func detect(head: [UInt8]) -> CaptureFileKind {
        guard head.count == 4 else { return .jsonl }
        switch (head[0], head[1], head[2], head[3]) {
        case (0xD4, 0xC3, 0xB2, 0xA1), (0xA1, 0xB2, 0xC3, 0xD4), (0x4D, 0x3C, 0xB2, 0xA1), (0xA1, 0xB2, 0x3C, 0x4D):
            return .pcap
        case (0x0A, 0x0D, 0x0D, 0x0A):
            return .pcapng
        default:
            return .jsonl
        }
    }
}

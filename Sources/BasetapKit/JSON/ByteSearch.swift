import Foundation

/// memchr over a range of a buffer, as an offset into it: Entity IDs, record lines, the blocks of a
/// mapped capture and a server's log are all searched for a byte this way.
enum ByteSearch {
    @inline(__always)
    static func first(_ byte: UInt8, in p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        guard start < end, let hit = memchr(p.baseAddress! + start, Int32(byte), end - start) else { return nil }
        return p.baseAddress!.distance(to: UnsafeRawPointer(hit))
    }
}

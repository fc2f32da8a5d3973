import Foundation

/// A byte's first place (by memchr) or last place in a range of a buffer, as an offset into it: Entity IDs, record lines, the blocks of a
/// capture read by several jobs and a server's log are all searched for a byte this way.
enum ByteSearch {
    @inline(__always)
    static func first(_ byte: UInt8, in p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        guard start < end, let hit = memchr(p.baseAddress! + start, Int32(byte), end - start) else { return nil }
        return p.baseAddress!.distance(to: UnsafeRawPointer(hit))
    }

    /// The last `byte` in the range: a byte at a time, for the few bytes back to a line's start.
    static func last(_ byte: UInt8, in p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        var i = end
        while i > start {
            i -= 1
            if p[i] == byte { return i }
        }
        return nil
    }
}

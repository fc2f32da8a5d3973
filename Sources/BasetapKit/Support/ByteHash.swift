/// A fast, unkeyed 64-bit hash of bytes, eight at a time, for tables that compare what they find
/// exactly (so a collision costs a comparison, never a wrong answer) and for choices that must come
/// out the same in every process (which worker checks a connection). Not for input that could be
/// chosen to collide where that would matter.
enum ByteHash {
    static func of(_ p: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(p.count)
        var i = 0
        while i + 8 <= p.count {
            h = (h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        while i < p.count {
            h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3
            i += 1
        }
        return h ^ (h >> 29)
    }
}

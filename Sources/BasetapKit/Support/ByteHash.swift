/// A fast, unkeyed 64-bit hash of bytes, eight at a time, for tables that compare what they find
/// exactly (so a collision costs a comparison, never a wrong answer) and for choices that must come
/// out the same in every process (which worker checks a connection). Not for input that could be
/// chosen to collide where that would matter.
enum ByteHash {
    static func of(_ p: UnsafeRawBufferPointer) -> UInt64 {
        let n = p.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
        @inline(__always) func mix(_ word: UInt64) {
            h = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
        }
        // The bytes past the last whole word are read as overlapping loads, not one by one: a loop
        // whose length changes with every id was a mispredicted branch per call.
        if n >= 8 {
            var i = 0
            while i + 8 <= n {
                mix(p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                i += 8
            }
            if i < n { mix(p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) }
        } else if n >= 4 {
            mix(UInt64(p.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
                | UInt64(p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) << 32)
        } else if n > 0 {
            mix(UInt64(p[0]) | UInt64(p[n / 2]) << 8 | UInt64(p[n - 1]) << 16)
        }
        return h ^ (h >> 29)
    }
}

/// UTF-8 validation by hand: the reader must name the offset of the first bad byte,
/// and must refuse what Swift's lossy decoding would silently repair.
enum UTF8Scan {
    /// Length of the well-formed sequence starting at `i` (whose first byte is ≥ 0x80), or nil.
    /// Rejects overlong forms, UTF-16 surrogates and code points past U+10FFFF (RFC 3629).
    @inline(__always)
    static func sequenceLength(_ p: UnsafeRawBufferPointer, at i: Int, end: Int) -> Int? {
        let b0 = p[i]
        @inline(__always) func cont(_ k: Int) -> UInt8? {
            guard i + k < end else { return nil }
            let b = p[i + k]
            return b & 0xC0 == 0x80 ? b : nil
        }
        switch b0 {
        case 0xC2...0xDF:
            return cont(1) != nil ? 2 : nil
        case 0xE0...0xEF:
            guard let b1 = cont(1), cont(2) != nil else { return nil }
            if b0 == 0xE0 && b1 < 0xA0 { return nil }  // overlong
            if b0 == 0xED && b1 > 0x9F { return nil }  // surrogate
            return 3
        case 0xF0...0xF4:
            guard let b1 = cont(1), cont(2) != nil, cont(3) != nil else { return nil }
            if b0 == 0xF0 && b1 < 0x90 { return nil }  // overlong
            if b0 == 0xF4 && b1 > 0x8F { return nil }  // past U+10FFFF
            return 4
        default:
            return nil
        }
    }

    /// Offset of the first byte that does not start a well-formed sequence, or nil when all is valid.
    static func firstInvalid(_ p: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        let end = p.count
        while i < end {
            // Protocol text is nearly all ASCII: eight bytes at a time while no high bit is set.
            while i + 8 <= end && p.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
            guard i < end else { break }
            if p[i] < 0x80 { i += 1; continue }
            guard let n = sequenceLength(p, at: i, end: end) else { return i }
            i += n
        }
        return nil
    }

    static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { firstInvalid($0) == nil }
    }
}

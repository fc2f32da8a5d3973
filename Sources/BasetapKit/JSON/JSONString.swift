/// Decoding and encoding of JSON string literals.
public enum JSONString {
    /// Appends the UTF-8 of a string literal's contents (the bytes between the quotes,
    /// already validated by `JSONReader`) with escapes resolved.
    static func decode(_ p: UnsafeRawBufferPointer, from start: Int, to end: Int, into out: inout [UInt8]) {
        // Decoded text is never longer than its literal: room for all of it, written in place, not zeroed first.
        guard end > start else { return }
        out.append(addingCapacity: end - start) { room in
            room.withUnsafeMutableBufferPointer { buffer, written in
                written = decode(p, from: start, to: end, writingTo: buffer.baseAddress!)
            }
        }
    }

    /// Writes the decoded bytes to `out`, which has room for `end - start`, and returns how many were written.
    /// (A distinct label: `&array` would otherwise convert silently to this overload's pointer.)
    static func decode(_ p: UnsafeRawBufferPointer, from start: Int, to end: Int, writingTo out: UnsafeMutablePointer<UInt8>) -> Int {
        var i = start
        var o = 0
        let base = p.baseAddress!
        while i < end {
            // Eight bytes at a time up to the next backslash: escaped JSON inside JSON has runs between
            // them. A word is stored whole (the room ahead is at least as long as the input left) and
            // the bytes before its first backslash are kept; that one is the lowest flagged byte.
            while i + 8 <= end {
                let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                UnsafeMutableRawPointer(out + o).storeBytes(of: w, as: UInt64.self)
                let x = UInt64(littleEndian: w) ^ 0x5C5C_5C5C_5C5C_5C5C
                let backslashes = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
                if backslashes == 0 {
                    i += 8
                    o += 8
                } else {
                    let plain = backslashes.trailingZeroBitCount >> 3
                    i += plain
                    o += plain
                    break
                }
            }
            guard i < end else { break }
            let b = p[i]
            if b != UInt8(ascii: "\\") {
                out[o] = b
                o += 1
                i += 1
                continue
            }
            let e = p[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out[o] = 0x08; o += 1
            case UInt8(ascii: "f"): out[o] = 0x0C; o += 1
            case UInt8(ascii: "n"): out[o] = 0x0A; o += 1
            case UInt8(ascii: "r"): out[o] = 0x0D; o += 1
            case UInt8(ascii: "t"): out[o] = 0x09; o += 1
            case UInt8(ascii: "u"):
                var scalar = hex4(p, i)
                i += 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    let low = hex4(p, i + 2)
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                o += writeUTF8(scalar, to: out + o)
            default: out[o] = e; o += 1  // " \ /
            }
        }
        return o
    }

    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    @inline(__always)
    static func hex4(_ p: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        (hexValue(p[i])! << 12) | (hexValue(p[i + 1])! << 8) | (hexValue(p[i + 2])! << 4) | hexValue(p[i + 3])!
    }

    static func writeUTF8(_ scalar: UInt32, to out: UnsafeMutablePointer<UInt8>) -> Int {
        switch scalar {
        case 0..<0x80:
            out[0] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            out[0] = UInt8(0xC0 | (scalar >> 6))
            out[1] = UInt8(0x80 | (scalar & 0x3F))
            return 2
        case 0x800..<0x10000:
            out[0] = UInt8(0xE0 | (scalar >> 12))
            out[1] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
            out[2] = UInt8(0x80 | (scalar & 0x3F))
            return 3
        default:
            out[0] = UInt8(0xF0 | (scalar >> 18))
            out[1] = UInt8(0x80 | ((scalar >> 12) & 0x3F))
            out[2] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
            out[3] = UInt8(0x80 | (scalar & 0x3F))
            return 4
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `bytes` (valid UTF-8) as a quoted JSON string literal.
    public static func encode<C: Collection<UInt8>>(_ bytes: C, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Runs that need no escape are copied whole: values of a megabyte are common in fuzz cases.
        if bytes.withContiguousStorageIfAvailable({ encodeEscaping(UnsafeRawBufferPointer($0), into: &out) }) == nil {
            Array(bytes).withUnsafeBytes { encodeEscaping($0, into: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func encodeEscaping(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var run = 0
        for (i, b) in bytes.enumerated() where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b == 0x7F {
            out.append(contentsOf: bytes[run..<i])
            run = i + 1
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            default:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 0xF)])
            }
        }
        out.append(contentsOf: bytes[run...])
    }

    public static func encode(_ string: String, into out: inout [UInt8]) {
        encode(string.utf8, into: &out)
    }

    /// A quoted JSON string literal for `string`.
    public static func quoted(_ string: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count + 2)
        encode(string.utf8, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

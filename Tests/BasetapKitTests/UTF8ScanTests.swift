import Testing
@testable import BasetapKit

/// The word-at-a-time scans against byte-at-a-time references written here, on random inputs
/// with a bad or special byte at every offset of an eight-byte block.
@Suite struct UTF8ScanTests {
    /// The first invalid offset, one sequence at a time with no fast path.
    static func scalarFirstInvalid(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBytes { p in
            var i = 0
            while i < p.count {
                if p[i] < 0x80 { i += 1; continue }
                guard let n = UTF8Scan.sequenceLength(p, at: i, end: p.count) else { return i }
                i += n
            }
            return nil
        }
    }

    static let pieces: [[UInt8]] = [
        Array("a".utf8), Array("hello, ".utf8), Array("é".utf8), Array("€".utf8), Array("𝄞".utf8),
        [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFF],
    ]

    @Test func firstInvalidAgreesWithTheScalarScanEverywhere() {
        var random = FuzzRandom(seed: 2026)
        for round in 0..<20_000 {
            // Mostly ASCII so that the eight-byte path runs, then one piece, valid or not, at an offset that walks every block position.
            var bytes = [UInt8](repeating: UInt8(ascii: "x"), count: round % 24)
            bytes += Self.pieces[Int(random.next() % UInt64(Self.pieces.count))]
            for _ in 0..<Int(random.next() % 4) { bytes += Self.pieces[Int(random.next() % 5)] }
            let found = bytes.withUnsafeBytes { UTF8Scan.firstInvalid($0) }
            #expect(found == Self.scalarFirstInvalid(bytes), "\(bytes)")
        }
    }

    /// A byte is special to the JSON string scan if it ends the run of plain ASCII; the scan jumps
    /// to the lowest flagged byte, so that one must be the first special byte whatever follows it.
    @Test func theWordTestFindsTheFirstSpecialByteAtEveryPosition() {
        let special: (UInt8) -> Bool = { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 || $0 >= 0x80 }
        for position in 0..<8 {
            for byte in 0...255 {
                var word = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                word[position] = UInt8(byte)
                let w = word.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                let flagged = JSONReader.specialBytes(UInt64(littleEndian: w))
                #expect((flagged != 0) == special(UInt8(byte)), "byte \(byte) at \(position)")
                if flagged != 0 { #expect(flagged.trailingZeroBitCount >> 3 == position, "byte \(byte) at \(position)") }
                // Whatever comes after a special byte, the first one is still the one found.
                for after in [0x00, 0x01, 0x1F, 0x20, 0x21, 0x22, 0x5C, 0x5D, 0x7F, 0x80, 0xFF] where position < 7 && special(UInt8(byte)) {
                    var next = word
                    for k in position + 1..<8 { next[k] = UInt8(after) }
                    let w2 = next.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    #expect(JSONReader.specialBytes(UInt64(littleEndian: w2)).trailingZeroBitCount >> 3 == position, "byte \(byte) at \(position), then \(after)")
                }
            }
        }
    }
}

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

    /// The quote that ends a plain ASCII string, found a word at a time, is the one a byte-by-byte
    /// look finds, for every start and every special byte at every offset; a string with anything
    /// else first has none.
    @Test func aPlainStringEndsWhereAByteByByteLookSays() {
        var random = FuzzRandom(seed: 5)
        let others: [UInt8] = [0x00, 0x1F, UInt8(ascii: "\\"), 0x7F, 0x80, 0xC3, 0xFF]
        for _ in 0..<3_000 {
            var bytes = (0..<Int(random.next() % 40)).map { _ in UInt8(0x20 + random.next() % 0x5F) }.filter { $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
            if !bytes.isEmpty, random.next() % 3 == 0 {
                bytes[Int(random.next() % UInt64(bytes.count))] = random.next() % 2 == 0 ? UInt8(ascii: "\"") : others[Int(random.next() % UInt64(others.count))]
            }
            if random.next() % 4 != 0 { bytes.append(UInt8(ascii: "\"")) }
            bytes += (0..<Int(random.next() % 10)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let start = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
            var expected: Int?
            for k in start..<bytes.count {
                let b = bytes[k]
                if b == UInt8(ascii: "\"") { expected = k; break }
                if b < 0x20 || b >= 0x80 || b == UInt8(ascii: "\\") { break }
            }
            #expect(bytes.withUnsafeBytes { JSONReader.plainStringEnd($0, from: start) } == expected, "\(bytes) from \(start)")
        }
    }

    /// A JSON string literal read one byte at a time: the offset past its closing quote, or the
    /// offset of the first error. The reader's word-at-a-time scan must say the same of every input.
    enum ScanEnd: Equatable {
        case end(Int)
        case error(at: Int)
    }

    static func scalarStringEnd(_ bytes: [UInt8]) -> ScanEnd {
        bytes.withUnsafeBytes { p in
            var i = 1
            while i < p.count {
                let b = p[i]
                if b == UInt8(ascii: "\"") { return .end(i + 1) }
                if b < 0x20 { return .error(at: i) }
                if b == UInt8(ascii: "\\") {
                    guard i + 1 < p.count else { return .error(at: i) }
                    switch p[i + 1] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        i += 2
                    case UInt8(ascii: "u"):
                        func unit(_ at: Int) -> UInt32? {
                            guard at + 4 <= p.count else { return nil }
                            return UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: p[at..<at + 4]), as: UTF8.self), radix: 16)
                        }
                        guard let u = unit(i + 2), !(0xDC00..<0xE000).contains(u) else { return .error(at: i) }
                        if (0xD800..<0xDC00).contains(u) {
                            guard i + 7 < p.count, p[i + 6] == UInt8(ascii: "\\"), p[i + 7] == UInt8(ascii: "u"),
                                let low = unit(i + 8), (0xDC00..<0xE000).contains(low)
                            else { return .error(at: i) }
                            i += 12
                        } else {
                            i += 6
                        }
                    default:
                        return .error(at: i)
                    }
                    continue
                }
                if b < 0x80 { i += 1; continue }
                guard let n = UTF8Scan.sequenceLength(p, at: i, end: p.count) else { return .error(at: i) }
                i += n
            }
            return .error(at: 0)  // unterminated: reported at the opening quote
        }
    }

    /// Strings of plain runs of every length around the word size, with a special, invalid or
    /// escaped piece at every offset of a word, closed or not, followed by more of the document.
    @Test func theStringScanAgreesWithTheScalarOneOnRandomInput() {
        let pieces: [[UInt8]] = Self.pieces + [
            [0x00], [0x1F], [0x7F], Array(#"\""#.utf8), Array(#"\\"#.utf8), Array(#"\u00e9"#.utf8), Array(#"\uD834\uDD1E"#.utf8),
            Array(#"\uDC00"#.utf8), Array(#"\u12g4"#.utf8), Array(#"\q"#.utf8), [UInt8(ascii: "\\")], [UInt8(ascii: "\"")],
        ]
        var random = FuzzRandom(seed: 99)
        var reader = JSONReader()
        var ends = 0, errors = 0
        for round in 0..<40_000 {
            var string: [UInt8] = [UInt8(ascii: "\"")] + [UInt8](repeating: UInt8(ascii: "a"), count: round % 21)
            for _ in 0..<Int(random.next() % 4) {
                string += pieces[Int(random.next() % UInt64(pieces.count))]
                string += [UInt8](repeating: UInt8(ascii: "b"), count: Int(random.next() % 10))
            }
            if random.next() % 4 != 0 { string.append(UInt8(ascii: "\"")) }
            let tail = [UInt8](repeating: UInt8(ascii: " "), count: Int(random.next() % 12))
            let document = string + tail
            let expected = Self.scalarStringEnd(document)
            let found: ScanEnd = document.withUnsafeBytes { raw in
                if let error = reader.parse(raw) {
                    // A string that ends early leaves bytes after it that are no JSON: that error is past its end.
                    if case .end(let end) = expected, error.offset >= end { return .end(end) }
                    return .error(at: error.offset)
                }
                return .end(Int(reader.nodes[0].end))
            }
            #expect(found == expected, "\(document)")
            if case .end = expected { ends += 1 } else { errors += 1 }
        }
        #expect(ends > 10_000 && errors > 10_000)
    }
}

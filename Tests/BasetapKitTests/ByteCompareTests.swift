import Testing
@testable import BasetapKit

@Suite struct ByteCompareTests {
    /// Every length up to a few words, with one byte changed at every position (the overlapping last
    /// word must still see each byte), against a plain comparison.
    @Test func agreesWithAByteByByteComparisonAtEveryLengthAndPosition() {
        for length in 0...40 {
            let a = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            a.withUnsafeBytes { pa in
                #expect(ByteCompare.equal(pa.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, pa.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, count: length))
            }
            for position in 0..<length {
                for flip: UInt8 in [0x01, 0x80, 0xFF] {
                    var b = a
                    b[position] ^= flip
                    let equal = a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in ByteCompare.equal(pa.baseAddress!, pb.baseAddress!, count: length) } }
                    #expect(!equal, "length \(length), byte \(position) ^ \(flip)")
                }
            }
        }
    }
}

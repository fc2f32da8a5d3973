import Testing
@testable import BasetapKit

@Suite struct CaptureTimeTests {
    @Test func timesAreWrittenWithMicrosecondsAndReadBack() throws {
        #expect(CaptureTime.format(nanoseconds: 1_764_000_000_123_456_789) == "2025-11-24T16:00:00.123456Z")
        #expect(CaptureTime.format(nanoseconds: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(CaptureTime.format(nanoseconds: -5) == "1970-01-01T00:00:00.000000Z", "before 1970 is written as 1970")
        let seconds = try #require(CaptureTime.seconds("2025-11-24T16:00:00.123456Z"))
        #expect(abs(seconds - 1_764_000_000.123456) < 1e-6)
    }

    @Test func anyFractionAndOffsetsAreRead() {
        #expect(CaptureTime.seconds("2025-11-24T16:00:00Z") == 1_764_000_000)
        #expect(CaptureTime.seconds("2025-11-24t16:00:00.5z") == 1_764_000_000.5)
        #expect(CaptureTime.seconds("2025-11-24T17:30:00+01:30") == 1_764_000_000)
        #expect(CaptureTime.seconds("2025-11-24T14:00:00-02:00") == 1_764_000_000)
    }

    /// Replay paces by differences of these: they must be exact to the nanosecond, not a `Double`'s
    /// few hundred nanoseconds this far from 1970.
    @Test func nanosecondsAreExact() {
        #expect(CaptureTime.nanoseconds("2025-11-24T16:00:00.123456789Z") == 1_764_000_000_123_456_789)
        #expect(CaptureTime.nanoseconds("2025-11-24T16:00:00.1234567891234Z") == 1_764_000_000_123_456_789, "digits past the ninth")
        #expect(CaptureTime.nanoseconds("2025-11-24T16:00:00Z") == 1_764_000_000_000_000_000)
        for ms in 0..<1000 {
            let a = CaptureTime.nanoseconds("2026-11-24T10:00:00.000000Z")!
            let b = CaptureTime.nanoseconds("2026-11-24T10:00:00.\(String(ms).leftPadded(to: 3))000Z")!
            if b - a != Int64(ms) * 1_000_000 { Issue.record("\(ms) ms read as \(b - a) ns") }
        }
        #expect(CaptureTime.nanoseconds("2025-11-24T16:00:00") == nil)
    }

    @Test func whatIsNoTimestampIsNil() {
        for text in ["", "yesterday", "2025-11-24 16:00:00Z", "2025-11-24T16:00:00", "2025-11-24T16:00:00+1", "2025-11-24T16:xx:00Z"] {
            #expect(CaptureTime.seconds(text) == nil, "\(text)")
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

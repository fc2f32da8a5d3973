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

    @Test func whatIsNoTimestampIsNil() {
        for text in ["", "yesterday", "2025-11-24 16:00:00Z", "2025-11-24T16:00:00", "2025-11-24T16:00:00+1", "2025-11-24T16:xx:00Z"] {
            #expect(CaptureTime.seconds(text) == nil, "\(text)")
        }
    }
}

import Testing
@testable import BasetapKit

@Suite struct MalformedLinesTests {
    @Test func withoutSkippingTheFirstProblemStopsNamingItsLine() {
        var lines = MalformedLines(skip: false)
        #expect(throws: BasetapError.input(place: "a.jsonl:7", message: "not JSON")) {
            try lines.note(LineProblem(message: "not JSON"), file: "a.jsonl", line: 7)
        }
        #expect(lines.count == 0)
        #expect(lines.notice == nil)
    }

    @Test func skippedLinesAreCountedAndTheFirstIsKept() throws {
        var lines = MalformedLines(skip: true)
        #expect(lines.notice == nil)
        try lines.note(LineProblem(message: "not JSON"), file: "a.jsonl", line: 3)
        try lines.note(LineProblem(message: "no \"kind\""), file: "a.jsonl", line: 9)
        #expect(lines.count == 2)
        #expect(lines.first?.line == 3)
        #expect(lines.notice == "basetap: skipped 2 malformed lines; first: a.jsonl:3: not JSON\n")
    }

    /// `check --jobs` adds its workers' counts up: the sum must read as one reader's, whichever
    /// worker met the earliest line.
    @Test func countsAddUpAndKeepTheEarliestLine() throws {
        var a = MalformedLines(skip: true), b = MalformedLines(skip: true), none = MalformedLines(skip: true)
        try a.note(LineProblem(message: "late"), file: "f", line: 40)
        try b.note(LineProblem(message: "early"), file: "f", line: 12)
        try b.note(LineProblem(message: "later"), file: "f", line: 50)
        for sum in [a + b, b + a, none + a + b, a + none + b] {
            #expect(sum.count == 3)
            #expect(sum.first?.line == 12)
            #expect(sum.notice == "basetap: skipped 3 malformed lines; first: f:12: early\n")
        }
        #expect((none + none).notice == nil)
    }
}

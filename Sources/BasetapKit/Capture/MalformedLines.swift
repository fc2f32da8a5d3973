/// What reading a JSONL capture does with a line that is no record: stop there, with an input error
/// naming the line, or (`--skip-bad-lines`) count it, keep the first for the user, and go on.
/// `check --jobs` keeps one per worker and adds them up, so both paths say the same.
public struct MalformedLines: Sendable {
    public let skip: Bool
    public private(set) var count = 0
    /// The first skipped line's number, and the line's place and problem as printed.
    public private(set) var first: (line: Int, text: String)?

    public init(skip: Bool) {
        self.skip = skip
    }

    /// Counts the line when lines are skipped; otherwise throws the error that stops reading.
    mutating func note(_ problem: LineProblem, file: String, line: Int) throws(BasetapError) {
        let place = "\(file):\(line)"
        guard skip else { throw BasetapError.input(place: place, message: problem.message) }
        count += 1
        if first == nil { first = (line, "\(place): \(problem.message)") }
    }

    /// The line `check` prints after a file with skipped lines, or nil when there were none.
    public var notice: String? {
        first.map { "basetap: skipped \(count) malformed lines; first: \($0.text)\n" }
    }

    /// Several readers' counts over one file, as one reader would have made them.
    static func + (a: MalformedLines, b: MalformedLines) -> MalformedLines {
        var sum = a
        sum.count += b.count
        if let other = b.first, other.line < sum.first?.line ?? Int.max { sum.first = other }
        return sum
    }
}

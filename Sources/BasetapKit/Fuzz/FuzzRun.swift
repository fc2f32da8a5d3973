import Foundation

/// `basetap fuzz`: mutated versions of a recorded session against a live server, judged by the
/// oracles. Findings are told apart by what the server did (its symptom), each confirmed, checked
/// against the unmutated connection, minimized and saved as a capture `basetap replay` reproduces.
public struct FuzzRun {
    public var seedCapture: String
    public var options: ReplayOptions
    public var seed: UInt64 = 1
    /// Stop after this long (seconds) or this many mutated messages, whichever comes first.
    public var duration: Double?
    public var maxMessages: Int?
    public var outDirectory = "fuzz-out"
    public var workers = 16
    /// Run only cases `index % count == shard - 1`, so N machines split one run.
    public var shard = (index: 1, count: 1)
    public var exec: String?
    public var profile: Profile?
    public var families: Set<MutationOperator.Family>?
    public var check = CheckOptions()
    public var minimize = true
    /// Unmutated runs of each seed connection before fuzzing.
    public var baselineRuns = 3
    public var style = Style(enabled: false)
    public var output: OutputFile
    public var progress: OutputFile?

    public init(seedCapture: String, options: ReplayOptions, output: OutputFile = .standardOutput) {
        self.seedCapture = seedCapture
        self.options = options
        self.output = output
    }

    /// One behaviour of the server, however many cases showed it.
    public struct Finding: Sendable {
        public var number: Int
        public var failure: Oracle.Failure
        /// Shown again by a run on its own (for a crash: a fresh server died of the case alone).
        public var confirmed: Bool
        /// How often it came back when run again, in words ("2 of 3 runs of the window").
        public var reproduction: String
        /// The seed connection of the case saved, and the operator that made it (none for a baseline or a window of cases).
        public var conn: String
        public var op: String?
        /// Cases that showed the symptom, and the operators and message types that got there, with counts.
        public var cases = 1
        public var operators: [String: Int] = [:]
        public var types: [String: Int] = [:]
        /// Client messages in the saved capture.
        public var messages: Int
        public var file: String
        public var death: ServerProcess.Death?
        /// The server's output around its death, saved beside the capture.
        public var outputFile: String?

        /// The case's own operator is counted, not those of the learned seed it started from.
        mutating func count(_ fuzzCase: FuzzCase) {
            cases += 1
            if let op = fuzzCase.ops.last { operators[op, default: 0] += 1 }
            for type in fuzzCase.types { types[type, default: 0] += 1 }
        }
    }

    public struct Summary: Sendable {
        public var cases = 0
        public var messagesSent = 0
        public var seconds = 0.0
        public var findings: [Finding] = []
        public var restarts = 0
        /// Distinct answers seen (types, error codes, close codes): what response-guided search grows.
        public var behaviours = 0
        public var learnedSeeds = 0
        public var warnings: [String] = []
    }

    public func run() throws -> Summary {
        #if os(Linux)
        // Cases allocate and free megabyte buffers thousands of times a second; glibc would hand each
        // back to the kernel, which then zeroes fresh pages for the next (half the CPU of a run).
        _ = mallopt(-3 /* M_MMAP_THRESHOLD */, 32 << 20)
        _ = mallopt(-1 /* M_TRIM_THRESHOLD */, 256 << 20)
        #endif
        let session = try FuzzSession(run: self)
        defer { session.server?.stop() }
        return try session.fuzz()
    }

    /// Targets churn cases may be aimed at: this machine only.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

#if os(Linux)
/// glibc's `mallopt` (malloc.h, which Glibc's Swift module does not export).
@_silgen_name("mallopt")
private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

import Foundation
import Testing
@testable import BasetapKit

/// `basetap fuzz` against a server with planted bugs, each reachable through one family of
/// mutations only (Tests/Peers/buggy_server.py), started and restarted by basetap itself.
@Suite(.serialized) struct FuzzTests {
    static let buggyServer = ProxyTests.peers.appendingPathComponent("buggy_server.py").path

    /// Seed 9 reaches all four planted bugs within its first 256 cases (800 messages).
    static func fuzz(out: URL, port: Int, seed: Int = 9, serverOptions: String = "") throws -> ProcessResult {
        try runBasetap([
            "fuzz", "--target", "ws://127.0.0.1:\(port)", "--seed-capture", capturePath("fuzz-seed.jsonl"),
            "--exec", "\(PcapFixtures.python) \(buggyServer) \(port)\(serverOptions)", "--seed", String(seed), "--max-messages", "800",
            "--families", "id,envelope,value", "--timeout", "1s", "--out", out.path, "--color", "never",
        ])
    }

    static func findings(_ out: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("findings").path).filter { $0.hasSuffix(".jsonl") }.sorted()
    }

    /// Replays a finding against a server started for it; returns replay's result.
    static func replay(_ finding: URL, server: [String], port: Int) throws -> ProcessResult {
        let peer = try Peer(PcapFixtures.python, server)
        defer { _ = peer.stop(SIGKILL) }
        try peer.waitFor("listening")
        return try runBasetap(["replay", finding.path, "--target", "ws://127.0.0.1:\(port)", "--timeout", "1s", "--color", "never"])
    }

    @Test func findsEveryPlantedBugOnceAndEachFindingIsARegressionTest() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("run1")
        let port = unusedPort()
        let result = try Self.fuzz(out: out, port: port)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let names = try Self.findings(out)
        let planted = ["crash-id.port", "hang-value.deep-nesting", "close-1011-envelope.duplicate", "abort-envelope.id-huge"]
        for bug in planted { #expect(names.contains { $0.contains(bug) }, "\(bug) in \(names)") }
        // Findings are kept apart by what the server did: one planted bug is at most two findings.
        for kind in ["-crash-", "-hang-", "-close-1011-", "-abort-"] {
            #expect(names.filter { $0.contains(kind) }.count <= 2, "\(kind) in \(names)")
        }
        let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("**crash**: the server exited with status 3") && report.contains("`id.port` ×"), "\(report)")
        #expect(!names.contains { $0.contains("crash") && !$0.contains("id.") }, "nothing reachable only through other families was blamed on them: \(names)")

        // Each finding replays as found (exit 1) against the buggy server, and no longer (exit 0) once it is fixed.
        for name in names {
            let file = out.appendingPathComponent("findings/" + name)
            let finding = try JSONLCaptureReader(path: file.path).readAll()
            #expect(finding.contains { $0.mutation != nil }, "the mutated message is marked in \(name)")
            #expect(finding.filter { $0.dir == .c2s && $0.kind.isMessage }.count <= 4, "\(name) is minimized to a few messages")
            let kind = try #require(finding.first?.finding?.oracle)
            let buggy = try Self.replay(file, server: [Self.buggyServer, String(port)], port: port)
            #expect(buggy.status == 1 && buggy.stdout.contains("reproduced: \(kind), as found"), "\(name): \(buggy.stdout)\(buggy.stderr)")
            let fixed = try Self.replay(file, server: [Self.buggyServer, String(port), "--fixed"], port: port)
            #expect(fixed.status == 0 && fixed.stdout.contains("no longer reproduces"), "\(name): \(fixed.stdout)\(fixed.stderr)")
        }

        // A second run with the same seed makes the same cases and finds the same. Oracles that time
        // things (hang, slow) depend on the machine's load as well, so only the others are compared.
        let again = directory.appendingPathComponent("run2")
        _ = try Self.fuzz(out: again, port: unusedPort())
        let namesAgain = try Self.findings(again)
        for bug in planted { #expect(namesAgain.contains { $0.contains(bug) }, "\(bug) in \(namesAgain)") }
        #expect(Self.untimed(names) == Self.untimed(namesAgain), "\(names) vs \(namesAgain)")
    }

    /// A fuzz run against the buggy server with its slow moment `option` counted in a file of
    /// `directory`; its result, finding names, report, and how many times the server counted.
    static func fuzzSlow(_ option: String, in directory: URL) throws -> (ProcessResult, [String], String, Int) {
        let out = directory.appendingPathComponent("run")
        let counter = directory.appendingPathComponent("counted").path
        let result = try fuzz(out: out, port: unusedPort(), serverOptions: " \(option) \(counter)")
        let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        return (result, try findings(out), report, try String(contentsOfFile: counter, encoding: .utf8).count)
    }

    /// A server slow for a moment on a busy machine gets to the crashing message of a suspect run
    /// alone only after the client gave up on its connection, and lives (`--slow-second-crash`: the
    /// batch's death is the first crashing message, the suspect's run alone the second). That run
    /// proved nothing: it runs again with more time, and the crash is blamed on its case.
    @Test func aSuspectRunTheServerWasTooSlowForRunsAgainWithMoreTime() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (result, names, report, counted) = try Self.fuzzSlow("--slow-second-crash", in: directory)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(names.contains { $0.contains("crash-id.port") } && !names.contains { $0.contains("unconfirmed") }, "\(names)")
        #expect(report.contains("**crash**: the server exited with status 3 | confirmed: a fresh server died of this case alone"), "\(report)")
        // The batch's death, the run the server was too slow for, and the run again that killed it.
        #expect(counted >= 3)
    }

    /// The same slow moment on the seed connection's first unmutated run (`--slow-first-connection`):
    /// the seed is not reported as failing without a mutation, and the planted hang is still found
    /// (a baseline hang would have hidden it).
    @Test func aSeedRunTheServerWasTooSlowForIsNoBaselineFailure() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (result, names, report, _) = try Self.fuzzSlow("--slow-first-connection", in: directory)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(!result.stdout.contains("without any mutation") && !report.contains("baseline"), "\(result.stdout)")
        #expect(names.contains { $0.contains("hang-value.deep-nesting") }, "\(names)")
    }

    /// Finding names without their number, for the oracles that do not measure time.
    static func untimed(_ names: [String]) -> [String] {
        names.map { String($0.drop { $0 != "-" }.dropFirst()) }.filter { !$0.hasPrefix("hang-") && !$0.hasPrefix("slow-") }.sorted()
    }

    /// A server that dies like a Go server (Tests/Peers/dying_server.py): on an upgrade request without
    /// Sec-WebSocket-Version, and on a race when many connections are open at once, each time printing
    /// a trace; its seed capture's second connection already fails unmutated.
    @Test func everyDeathIsAFindingWithItsCrashOutputAndABrokenSeedConnectionIsABaseline() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let seed = ProxyTests.peers.appendingPathComponent("dying_server_seed.jsonl").path
        let out = directory.appendingPathComponent("out")
        let port = unusedPort()
        let server = ProxyTests.peers.appendingPathComponent("dying_server.py").path
        let result = try runBasetap([
            "fuzz", "--target", "ws://127.0.0.1:\(port)", "--seed-capture", seed, "--exec", "\(PcapFixtures.python) \(server) \(port)",
            "--seed", "1", "--max-messages", "3000", "--timeout", "1s", "--out", out.path, "--color", "never",
        ])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("warning: c2 already fails without any mutation (abort"), "\(result.stdout)")
        let names = try Self.findings(out)
        #expect(names.filter { $0.contains("-baseline-") } == names.filter { $0.contains("-baseline-c2") } && names.filter { $0.contains("-baseline-") }.count == 1, "\(names)")
        // c2 drops its connection by itself: no abort on it is blamed on an operator (an abort the
        // server really has, on a deep nesting that kills its handler, is found on c1).
        for name in names where name.contains("-abort-") {
            let conns = Set(try JSONLCaptureReader(path: out.appendingPathComponent("findings/" + name).path).readAll().map(\.conn))
            #expect(conns == ["c1"], "\(name) is on \(conns)")
        }
        let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        // Both deaths, each with its crash line quoted and at most two findings each.
        for line in ["panic: runtime error: index out of range [1] with length 1", "fatal error: concurrent map writes"] {
            #expect(report.contains("First crash line: `\(line)`"), "\(line) in \(report)")
            #expect(report.components(separatedBy: "First crash line: `\(line)`").count - 1 <= 2, "\(line) is at most two findings")
        }
        #expect(report.contains("goroutine 12 [running]:"), "the trace after the crash line is quoted")
        // A death no case causes alone (the race) says how often the cases together brought it
        // back, and no row says "confirmed" twice.
        for row in report.split(separator: "\n") where row.contains("**crash-unconfirmed**") {
            #expect(row.contains("| no case alone") && row.contains("cases together brought it back in") && !row.contains("confirmed:"), "\(row)")
        }
        #expect(!report.contains("confirmed: confirmed"), "\(report)")

        // The handshake death is confirmed and replays: the server dies again, and a fixed one does not.
        let handshake = try #require(names.first { $0.contains("-crash-handshake.") }, "\(names)")
        #expect(report.contains("[findings/\(handshake)]"))
        let file = out.appendingPathComponent("findings/" + handshake)
        #expect(try JSONLCaptureReader(path: file.path).readAll().first?.request?.contains("GET ") == true, "the request head is recorded raw")
        let again = try Self.replay(file, server: [server, String(port)], port: port)
        #expect(again.status == 1 && again.stdout.contains("reproduced: crash, as found"), "\(again.stdout)\(again.stderr)")
        let fixed = try Self.replay(file, server: [server, String(port), "--fixed"], port: port)
        #expect(fixed.status == 0 && fixed.stdout.contains("no longer reproduces"), "\(fixed.stdout)\(fixed.stderr)")
    }

    @Test func mutateWritesMarkedVariantsDeterministically() throws {
        let a = try runBasetap(["mutate", capturePath("fuzz-seed.jsonl"), "--seed", "9", "--count", "40"])
        let b = try runBasetap(["mutate", capturePath("fuzz-seed.jsonl"), "--seed", "9", "--count", "40"])
        #expect(a.status == 0 && a.stdout == b.stdout)
        let records = try JSONLCaptureReader(bytes: Array(a.stdout.utf8)).readAll()
        #expect(Set(records.map(\.conn)).count == 40)
        let marked = records.filter { $0.mutation != nil }
        #expect(marked.count >= 30 && marked.allSatisfy { $0.mutation?.seed != nil && $0.mutation?.ops.isEmpty == false })
        let families = Set(marked.compactMap(\.mutation).flatMap(\.ops).map { $0.split(separator: ".").first.map(String.init) ?? "" })
        #expect(families.count >= 5, "\(families)")
        let only = try runBasetap(["mutate", capturePath("fuzz-seed.jsonl"), "--families", "id", "--count", "10"])
        #expect(try JSONLCaptureReader(bytes: Array(only.stdout.utf8)).readAll().compactMap(\.mutation).allSatisfy { $0.ops.allSatisfy { $0.hasPrefix("id.") } })
        let bad = try runBasetap(["mutate", capturePath("fuzz-seed.jsonl"), "--families", "nope"])
        #expect(bad.status == 2 && bad.stderr.contains("unknown family"))
    }

    @Test func fuzzingAnUnreachableOrBrokenTargetIsAClearError() throws {
        let unreachable = try runBasetap(["fuzz", "--target", "ws://127.0.0.1:\(unusedPort())", "--seed-capture", capturePath("fuzz-seed.jsonl"), "--max-messages", "10"])
        #expect(unreachable.status == 2 && unreachable.stderr.contains("already fails") && unreachable.stderr.contains("connection refused"), "\(unreachable.stderr)")
        let badShard = try runBasetap(["fuzz", "--target", "ws://127.0.0.1:1", "--seed-capture", capturePath("fuzz-seed.jsonl"), "--shard", "3/2"])
        #expect(badShard.status == 2 && badShard.stderr.contains("--shard"))
    }
}

import Foundation
import Testing
@testable import BasetapKit

/// `basetap fuzz` against a server with planted bugs, each reachable through one family of
/// mutations only (Tests/Peers/buggy_server.py), started and restarted by basetap itself.
@Suite(.serialized) struct FuzzTests {
    static let buggyServer = ProxyTests.peers.appendingPathComponent("buggy_server.py").path

    /// Seed 3 reaches all four planted bugs within its first 160 cases (about 650 messages).
    static func fuzz(out: URL, port: Int, seed: Int = 3) throws -> ProcessResult {
        try runBasetap([
            "fuzz", "--target", "ws://127.0.0.1:\(port)", "--seed-capture", capturePath("fuzz-seed.jsonl"),
            "--exec", "\(PcapFixtures.python) \(buggyServer) \(port)", "--seed", String(seed), "--max-messages", "800",
            "--families", "id,envelope,value", "--timeout", "1s", "--out", out.path, "--color", "never",
        ])
    }

    static func findings(_ out: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("findings").path).sorted()
    }

    @Test func findsEveryPlantedBugTheFindingsReplayAndTheSameSeedFindsTheSame() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("run1")
        let port = freePort()
        let result = try Self.fuzz(out: out, port: port)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let names = try Self.findings(out)
        let planted = ["crash-id.port", "hang-value.deep-nesting", "close-1011-envelope.duplicate", "abort-envelope.id-huge"]
        for bug in planted { #expect(names.contains { $0.contains(bug) }, "\(bug) in \(names)") }
        let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("| crash | `id.port` |") && report.contains("exited with status 3"))
        // Nothing reachable only through other families was blamed on them.
        #expect(!names.contains { $0.contains("crash") && !$0.contains("id.") }, "\(names)")

        // Each finding is a capture `basetap replay` sends again, with the same result.
        for bug in planted {
            let file = try #require(names.first { $0.contains(bug) })
            let finding = try JSONLCaptureReader(path: out.appendingPathComponent("findings/" + file).path).readAll()
            #expect(finding.contains { $0.mutation != nil }, "the mutated message is marked")
            #expect(finding.filter { $0.dir == .c2s && $0.kind.isMessage }.count <= 4, "minimized to a few messages")
            let server = try Peer(PcapFixtures.python, [Self.buggyServer, String(port)])
            try server.waitFor("listening")
            let record = directory.appendingPathComponent("replayed-\(bug).jsonl").path
            _ = try runBasetap(["replay", out.appendingPathComponent("findings/" + file).path, "--target", "ws://127.0.0.1:\(port)",
                                "--pace", "fast", "--timeout", "1s", "--record", record])
            let replayed = try JSONLCaptureReader(path: record).readAll()
            let serverClose = replayed.last { $0.dir == .s2c && $0.kind == .close }?.code
            let probeAnswered = replayed.contains { $0.dir == .s2c && String(decoding: $0.payload, as: UTF8.self).contains(Mutator.probeID) }
            switch bug {
            case "crash-id.port":
                Thread.sleep(forTimeInterval: 0.3)
                #expect(!server.process.isRunning && server.process.terminationStatus == 3, "the server crashed again")
            case "hang-value.deep-nesting":
                #expect(!probeAnswered, "the server hung again")
            case "close-1011-envelope.duplicate":
                #expect(serverClose == 1011)
            default:
                #expect(serverClose == nil && replayed.last?.error != nil, "the server dropped the connection again")
            }
            _ = server.stop(SIGKILL)
        }

        // A second run with the same seed makes the same cases and finds the same. Oracles that time
        // things (hang, slow) depend on the machine's load as well, so only the others are compared.
        let again = directory.appendingPathComponent("run2")
        _ = try Self.fuzz(out: again, port: freePort())
        let namesAgain = try Self.findings(again)
        for bug in planted { #expect(namesAgain.contains { $0.contains(bug) }, "\(bug) in \(namesAgain)") }
        #expect(Self.untimed(names) == Self.untimed(namesAgain), "\(names) vs \(namesAgain)")
    }

    /// Finding names without their number, for the oracles that do not measure time.
    static func untimed(_ names: [String]) -> [String] {
        names.map { String($0.drop { $0 != "-" }.dropFirst()) }.filter { !$0.hasPrefix("hang-") && !$0.hasPrefix("slow-") }.sorted()
    }

    @Test func mutateWritesMarkedVariantsDeterministically() throws {
        let a = try runBasetap(["mutate", capturePath("fuzz-seed.jsonl"), "--seed", "9", "--count", "40"])
        let b = try runBasetap(["mutate", capturePath("fuzz-seed.jsonl"), "--seed", "9", "--count", "40"])
        #expect(a.status == 0 && a.stdout == b.stdout)
        let records = try JSONLCaptureReader(bytes: Array(a.stdout.utf8)).readAll()
        #expect(Set(records.map(\.conn)).count == 40)
        let marked = records.filter { $0.mutation != nil }
        #expect(marked.count >= 30 && marked.allSatisfy { $0.mutation?.seed != nil && $0.mutation?.ops.isEmpty == false })
        let families = Set(marked.flatMap { $0.mutation!.ops }.map { $0.split(separator: ".").first.map(String.init) ?? "" })
        #expect(families.count >= 5, "\(families)")
        let only = try runBasetap(["mutate", capturePath("fuzz-seed.jsonl"), "--families", "id", "--count", "10"])
        #expect(try JSONLCaptureReader(bytes: Array(only.stdout.utf8)).readAll().compactMap(\.mutation).allSatisfy { $0.ops.allSatisfy { $0.hasPrefix("id.") } })
        let bad = try runBasetap(["mutate", capturePath("fuzz-seed.jsonl"), "--families", "nope"])
        #expect(bad.status == 2 && bad.stderr.contains("unknown family"))
    }

    @Test func fuzzingAnUnreachableOrBrokenTargetIsAClearError() throws {
        let unreachable = try runBasetap(["fuzz", "--target", "ws://127.0.0.1:\(freePort())", "--seed-capture", capturePath("fuzz-seed.jsonl"), "--max-messages", "10"])
        #expect(unreachable.status == 2 && unreachable.stderr.contains("already fails") && unreachable.stderr.contains("connection refused"), "\(unreachable.stderr)")
        let badShard = try runBasetap(["fuzz", "--target", "ws://127.0.0.1:1", "--seed-capture", capturePath("fuzz-seed.jsonl"), "--shard", "3/2"])
        #expect(badShard.status == 2 && badShard.stderr.contains("--shard"))
    }
}

import Foundation
import Testing
@testable import BasetapKit

/// The libFuzzer targets (`make fuzz-self` runs them for minutes under AddressSanitizer) run here
/// for a fixed number of inputs as a smoke test: their seeds from Captures/, byte-level mutations
/// of those, and every input the fuzzers once crashed on.
@Suite struct FuzzTargetTests {
    static let seeds: URL = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("basetap-seeds-\(getpid())")
        let script = repositoryRoot.appendingPathComponent("Tests/FuzzHarnesses/seeds.py").path
        let process = try! Process.run(URL(fileURLWithPath: PcapFixtures.python), arguments: [script, directory.path])
        process.waitUntilExit()
        return directory
    }()

    /// Deterministic byte-level mutations, the kind libFuzzer starts with.
    static func mutations(of seed: [UInt8], count: Int, random: inout FuzzRandom) -> [[UInt8]] {
        (0..<count).map { _ in
            var bytes = seed
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0 where !bytes.isEmpty: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
                case 1: bytes.insert(random.pick([0, 0xFF, 0x7F, 0x80, UInt8(ascii: "{"), UInt8(ascii: "\""), UInt8(ascii: "\\")]), at: at)
                case 2 where !bytes.isEmpty: bytes.remove(at: at)
                case 3: bytes = Array(bytes.prefix(at))
                default: bytes += bytes.prefix(Int.random(in: 0...16, using: &random))
                }
            }
            return bytes
        }
    }

    @Test(arguments: FuzzTargets.all.map(\.name))
    func survivesItsSeedsAndTheirMutations(_ name: String) throws {
        let target = try #require(FuzzTargets.all.first { $0.name == name })
        let directory = Self.seeds.appendingPathComponent(name)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(!files.isEmpty)
        var random = FuzzRandom(seed: 2026)
        let perSeed = name == "pcap" ? 20 : 200
        var runs = 0
        for file in files {
            let seed = [UInt8](try Data(contentsOf: directory.appendingPathComponent(file)))
            for input in [seed] + Self.mutations(of: seed, count: perSeed, random: &random) {
                target.run(input)
                runs += 1
            }
        }
        #expect(runs > perSeed)
    }

    /// Inputs on which `make fuzz-self` once found a crash, kept so that they never crash again.
    static let regressions: [(target: String, input: [UInt8])] = [
        // Bracketed IPv6 host with a NUL and dots: the embedded-IPv4 check read past the group.
        ("entity-id", Array("[\u{0}0.2.42.22.".utf8) + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5] + Array("0?.2.]".utf8)),
        ("entity-id", [0x5B, 0xF0, 0x31, 0x19, 0x2E, 0x00, 0x00, 0x06, 0x0B, 0x2E, 0x5D]),
        // A YAML base-60 integer past Int: Yams' own conversion trapped on the overflow.
        ("profile", Array("999999999999999266:6".utf8)),
    ]

    @Test func inputsThatOnceCrashedAreHandled() throws {
        for (name, input) in Self.regressions {
            FuzzTargets.all.first { $0.name == name }!.run(input)
        }
        #expect(EntityID.validate("[" + "0.2.42.22." + "]").isFailure)
        #expect(YAMLDocument.sexagesimal("-1:30:00") == -5400 && YAMLDocument.sexagesimal("1_0:0_1") == 601)
        #expect(YAMLDocument.sexagesimal("999999999999999266:6") == nil)
        #expect(throws: BasetapError.self) { try ProfileDocument.parse(Array("n: 999999999999999266:6".utf8), source: "p.yaml") }
        #expect(try ProfileDocument.parse(Array("n: 1:30".utf8), source: "p.yaml") == .object([JSONValue.Member("n", .number("90"))]))
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { true } else { false } }
}

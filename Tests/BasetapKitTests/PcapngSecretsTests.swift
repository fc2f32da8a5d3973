import Foundation
import Testing
@testable import BasetapKit

/// Decryption Secrets Blocks in pcapng files written here block by block, in both byte orders.
@Suite struct PcapngSecretsTests {
    static let random = String(repeating: "5a", count: 32)

    /// A pcapng with a section header, `blocks` (type, body) and nothing else.
    static func pcapng(bigEndian: Bool, blocks: [(UInt32, [UInt8])]) -> [UInt8] {
        func word(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: bigEndian ? v.bigEndian : v.littleEndian) { Array($0) } }
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
            let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
            let length = UInt32(12 + padded.count)
            return word(type) + word(length) + padded + word(length)
        }
        let header = word(0x1A2B_3C4D) + [0, 1, 0, 0].map { UInt8($0) } + [UInt8](repeating: 0xFF, count: 8)
        return block(0x0A0D_0D0A, bigEndian ? [0x1A, 0x2B, 0x3C, 0x4D, 0, 1, 0, 0] + [UInt8](repeating: 0xFF, count: 8) : header)
            + blocks.flatMap { block($0.0, $0.1) }
    }

    static func secretsBlock(_ text: String, bigEndian: Bool) -> (UInt32, [UInt8]) {
        func word(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: bigEndian ? v.bigEndian : v.littleEndian) { Array($0) } }
        let bytes = Array(text.utf8)
        return (0x0000_000A, word(0x544C_534B) + word(UInt32(bytes.count)) + bytes)
    }

    static func write(_ bytes: [UInt8]) throws -> (String, URL) {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("secrets.pcapng").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, directory)
    }

    @Test(arguments: [false, true])
    func secretsAreReadInEitherByteOrderAndOtherBlocksPassedOver(bigEndian: Bool) throws {
        let interface: (UInt32, [UInt8]) = (1, [0, 1, 0, 0, 0, 0, 0xFF, 0xFF])
        let (path, directory) = try Self.write(Self.pcapng(bigEndian: bigEndian, blocks: [
            interface,
            Self.secretsBlock("CLIENT_RANDOM \(Self.random) \(String(repeating: "01", count: 48))\n", bigEndian: bigEndian),
            (0x0000_000A, [0x53, 0x53, 0x48, 0x4B, 0, 0, 0, 0]),  // an SSH key log: not TLS
            Self.secretsBlock("SERVER_TRAFFIC_SECRET_0 \(Self.random) \(String(repeating: "02", count: 32))", bigEndian: bigEndian),
        ]))
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try PcapngSecrets.keyLog(path: path)
        let secrets = try #require(log.secrets(clientRandom: [UInt8](repeating: 0x5A, count: 32)))
        #expect(secrets.master == [UInt8](repeating: 1, count: 48))
        #expect(secrets.traffic.s2c == [UInt8](repeating: 2, count: 32))
    }

    @Test func aClassicPcapOrADamagedBlockHasNoSecretsAndABadLineIsNamed() throws {
        let (classic, one) = try Self.write([0xD4, 0xC3, 0xB2, 0xA1] + [UInt8](repeating: 0, count: 20))
        defer { try? FileManager.default.removeItem(at: one) }
        #expect(try PcapngSecrets.keyLog(path: classic).isEmpty)

        // A secrets block whose length runs past the end of the file.
        let whole = Self.pcapng(bigEndian: false, blocks: [Self.secretsBlock("CLIENT_RANDOM \(Self.random) 00", bigEndian: false)])
        let (cut, two) = try Self.write(Array(whole.prefix(whole.count - 20)))
        defer { try? FileManager.default.removeItem(at: two) }
        #expect(try PcapngSecrets.keyLog(path: cut).isEmpty)

        let (bad, three) = try Self.write(Self.pcapng(bigEndian: false, blocks: [Self.secretsBlock("CLIENT_RANDOM nothex 00", bigEndian: false)]))
        defer { try? FileManager.default.removeItem(at: three) }
        #expect(throws: BasetapError.input(place: "\(bad): Decryption Secrets Block (block 2):1", message: "CLIENT_RANDOM needs a 64-digit hex client random and a hex secret")) {
            try PcapngSecrets.keyLog(path: bad)
        }
    }
}

import Foundation
import Testing
@testable import BasetapKit

/// What basetap compresses after editing a compressed session must inflate in a receiver that has
/// inflated everything before it: checked with Python's zlib as that receiver.
@Suite struct MessageDeflaterTests {
    /// Inflates `messages` (hex, one per line) in order with one raw-deflate stream per line of
    /// `contexts` ("keep" or "reset"), as a permessage-deflate receiver does; prints each as hex.
    static let receiver = """
        import sys, zlib
        bits = int(sys.argv[1])
        d = zlib.decompressobj(-bits)
        for line in sys.stdin.read().split():
            mode, data = line.split(":")
            if mode == "reset":
                d = zlib.decompressobj(-bits)
            out = d.decompress(bytes.fromhex(data) + b"\\x00\\x00\\xff\\xff")
            print(out.hex())
        """

    static func inflate(_ messages: [(reset: Bool, bytes: [UInt8])], windowBits: Int) throws -> [[UInt8]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PcapFixtures.python)
        process.arguments = ["-c", receiver, String(windowBits)]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let text = messages.map { "\($0.reset ? "reset" : "keep"):\($0.bytes.map { String(format: "%02x", $0) }.joined())" }.joined(separator: "\n")
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return Array(data).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map { line in
            let hex = Array(line)
            return stride(from: 0, to: hex.count, by: 2).map { UInt8(JSONString.hexValue(hex[$0])! << 4 | JSONString.hexValue(hex[$0 + 1])!) }
        }
    }

    static func message(_ n: Int) -> [UInt8] {
        Array(#"{"id":"\#(n)","type":"chat.send","from":"@alice@chat.example.org","to":"!room@chat.example.org","payload":{"text":"hello number \#(n)"}}"#.utf8)
    }

    /// A new deflater seeded with the window takes over a stream the receiver is already inside,
    /// and its output is smaller for the shared context.
    @Test(arguments: [15, 10, 9])
    func aFreshDeflaterContinuesTheReceiversWindow(windowBits: Int) throws {
        let first = MessageDeflater(windowBits: windowBits, noContextTakeover: false, window: [])
        var window = InflatedWindow()
        var sent: [(reset: Bool, bytes: [UInt8])] = []
        for n in 0..<3 {
            sent.append((false, first.compress(Self.message(n))))
            window.append(Self.message(n))
        }
        // The message after an edit: compressed by a new deflater that knows only what was inflated.
        let takeover = MessageDeflater(windowBits: windowBits, noContextTakeover: false, window: Array(window.recent))
        let edited = Self.message(99)
        let continued = takeover.compress(edited)
        sent.append((false, continued))
        sent.append((false, takeover.compress(Self.message(100))))
        let inflated = try Self.inflate(sent, windowBits: windowBits)
        #expect(inflated == (0..<3).map(Self.message) + [edited, Self.message(100)])
        let alone = MessageDeflater(windowBits: windowBits, noContextTakeover: false, window: []).compress(edited)
        #expect(continued.count < alone.count, "the window was used: \(continued.count) against \(alone.count) bytes")
    }

    @Test func withoutContextTakeoverEveryMessageStandsAlone() throws {
        let deflater = MessageDeflater(windowBits: 15, noContextTakeover: true, window: Self.message(0))
        let messages = (1..<4).map(Self.message)
        let sent = messages.map { (reset: true, bytes: deflater.compress($0)) }
        #expect(try Self.inflate(sent, windowBits: 15) == messages)
        #expect(sent.allSatisfy { !$0.bytes.suffix(4).elementsEqual([0, 0, 0xFF, 0xFF]) }, "the flush's empty block is not sent")
    }

    @Test func aLargeMessageGrowsTheOutput() throws {
        var random = SystemRandomNumberGenerator()
        let noise = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        let compressed = MessageDeflater(windowBits: 15, noContextTakeover: false, window: []).compress(noise)
        #expect(try Self.inflate([(false, compressed)], windowBits: 15) == [noise])
    }

    @Test func theWindowKeepsTheLast32KiB() {
        var window = InflatedWindow()
        window.append([UInt8](repeating: 1, count: 20_000))
        window.append([UInt8](repeating: 2, count: 20_000))
        #expect(window.recent.count == InflatedWindow.size)
        #expect(window.recent.first == 1 && window.recent.last == 2)
        #expect(window.recent.filter { $0 == 2 }.count == 20_000)
        window.append([UInt8](repeating: 3, count: 40_000))
        #expect(window.recent.count == InflatedWindow.size && window.recent.allSatisfy { $0 == 3 })
        for _ in 0..<10 { window.append([UInt8](repeating: 4, count: 9_000)) }
        #expect(window.bytes.count <= 2 * InflatedWindow.size, "the buffer stays bounded")
        #expect(window.recent.suffix(9_000).allSatisfy { $0 == 4 })
    }
}

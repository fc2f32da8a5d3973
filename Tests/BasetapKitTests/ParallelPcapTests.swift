import Foundation
import Testing
@testable import BasetapKit

/// `check --jobs N` and `decode --jobs N` on pcap files write byte for byte what one decoder writes.
@Suite struct ParallelPcapTests {
    /// Hundreds of WebSocket sessions carrying the typical-mistakes messages, their packets
    /// interleaved at random (each connection's in order) over more packets than a round reads.
    /// Some connections never end (the file's end finishes them), some are reset, some send an
    /// unmasked frame (a wire finding), and some reuse the ports of one before (`#2`).
    static func interleavedPcap(connections: Int, in directory: URL) throws -> String {
        let messages = try JSONLCaptureReader(path: capturePath("typical-mistakes.jsonl")).readAll().filter(\.kind.isMessage)
        var random = FuzzRandom(seed: 11)
        var queues: [[[UInt8]]] = []
        for n in 0..<connections {
            let m = n % (connections - 7)
            let client = Endpoint(address: [10, 0, UInt8(m / 250), UInt8(2 + m % 250)], port: UInt16(40000 + m))
            var b = TCPPacketBuilder(client: client, server: PcapEdgeCaseTests.server, clientISN: UInt32(n) &* 2_654_435_761, serverISN: UInt32(n))
            var packets = b.handshake() + b.data(.c2s, PcapEdgeCaseTests.upgrade) + b.data(.s2c, PcapEdgeCaseTests.accept())
            for message in messages {
                let masked = message.dir == .c2s && n % 13 != 5
                let frame = FrameEncoder.encode(WebSocketFrame(opcode: .text, maskKey: masked ? (9, 8, 7, 6) : nil, payload: message.payload))
                packets += b.data(message.dir!, frame, segmentSize: 40 + n % 50)
            }
            switch n % 10 {
            case 3: break  // still open when the capture ends
            case 7: packets.append(b.packet(.s2c, flags: 0x14, payload: []))  // RST, ACK
            default: packets += [b.fin(.c2s), b.fin(.s2c)]
            }
            queues.append(packets)
        }
        // The last seven, on the addresses and ports of the first seven, begin after all others.
        var order: [[UInt8]] = []
        for group in [Array(0..<(connections - 7)), Array((connections - 7)..<connections)] {
            var remaining = group
            var next = Array(repeating: 0, count: queues.count)
            while !remaining.isEmpty {
                let pick = Int(random.next() % UInt64(min(remaining.count, 40)))
                let q = remaining[pick]
                order.append(queues[q][next[q]])
                next[q] += 1
                if next[q] == queues[q].count { remaining.remove(at: pick) }
            }
        }
        return try PcapEdgeCaseTests.write(order, in: directory, name: "interleaved.pcap")
    }

    static func expectSame(_ arguments: [String], jobs: [Int] = [2, 3]) throws {
        let one = try runBasetap(arguments[0...0] + ["--jobs", "1"] + arguments.dropFirst())
        #expect(!one.stdout.isEmpty)
        for n in jobs {
            let many = try runBasetap(arguments[0...0] + ["--jobs", "\(n)"] + arguments.dropFirst())
            #expect(many.status == one.status, "--jobs \(n) \(arguments)")
            #expect(many.stdout == one.stdout, "--jobs \(n) \(arguments): standard output differs")
            #expect(many.stderr == one.stderr, "--jobs \(n) \(arguments): \(many.stderr) vs \(one.stderr)")
        }
    }

    @Test func theSamplePcapsCheckAndDecodeTheSameWithAnyNumberOfJobs() throws {
        for name in ["session.pcap", "deflate-ipv6.pcap", "wss-tls13.pcapng"] {
            try Self.expectSame(["check", capturePath(name)])
            try Self.expectSame(["check", "--format", "jsonl", capturePath(name)])
            try Self.expectSame(["decode", capturePath(name)])
        }
        try Self.expectSame(["check", capturePath("session.pcap"), capturePath("deflate-ipv6.pcap")])
    }

    @Test func interleavedConnectionsCheckAndDecodeTheSame() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Self.interleavedPcap(connections: 700, in: directory)
        let one = try runBasetap(["check", "--jobs", "1", path])
        #expect(one.status == 1 && one.stdout.contains("Checked 9100 messages in 700 connections"), "\(one.stdout.split(separator: "\n").filter { $0.contains("Checked") })")
        #expect(one.stdout.contains("ws.unmasked-client-frame"), "the unmasked client frames are found")
        #expect(one.stdout.contains(">10.0.0.1:9001#2 "), "connections on ports used before are told apart")
        try Self.expectSame(["check", path])
        try Self.expectSame(["check", "--format", "jsonl", "--filter", "dir:s2c severity:warning", path], jobs: [2])
        try Self.expectSame(["decode", path])
        try Self.expectSame(["decode", "--conn", "10.0.1.", "--filter", "severity:error", path], jobs: [2])
        // A connection id met again in the next file is the same connection to the checker.
        try Self.expectSame(["check", path, path], jobs: [2])
    }

    @Test func aTruncatedFileIsCheckedAndDecodedUpToTheDamageAsWithOneJob() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Self.interleavedPcap(connections: 120, in: directory)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = directory.appendingPathComponent("cut.pcap").path
        try data.prefix(data.count * 2 / 3 + 5).write(to: URL(fileURLWithPath: cut))
        let decoded = try runBasetap(["decode", "--jobs", "2", cut])
        #expect(decoded.status == 1 && decoded.stderr.contains("truncated"), "\(decoded.stderr)")
        try Self.expectSame(["check", cut])
        try Self.expectSame(["decode", cut])
    }
}

import Foundation
import Testing
@testable import BasetapKit

/// Real captures recorded by Tests/Peers/record_session.py, and ways to bend them.
enum PcapFixtures {
    static var python: String {
        ProcessInfo.processInfo.environment["BASETAP_PYTHON"] ?? repositoryRoot.appendingPathComponent(".venv/bin/python").path
    }

    /// Records a real session on loopback; returns the pcap path and what the clients sent and received.
    static func record(_ arguments: [String], in directory: URL) throws -> (path: String, expected: JSONValue) {
        let path = directory.appendingPathComponent("session-\(UUID().uuidString.prefix(8)).pcap").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [repositoryRoot.appendingPathComponent("Tests/Peers/record_session.py").path, path] + arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BasetapError.usage("record_session.py failed with \(process.terminationStatus)") }
        let expected = try JSONValue(parsing: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + ".expected.json"))))
        return (path, expected)
    }

    /// The messages of one connection, compared with what the recording client sent and received.
    static func expectMatches(_ records: [CaptureRecord], _ expected: JSONValue, connection n: Int) {
        guard case .array(let sent) = expected["sent"] ?? .null, case .array(let received) = expected["received"] ?? .null else {
            Issue.record("no expectation")
            return
        }
        func payload(_ v: JSONValue) -> [UInt8] {
            if case .string(let t) = v["text"] ?? .null { return Array(t.utf8) }
            return [UInt8](Data(base64Encoded: v["base64"]!.stringValue!)!)
        }
        let c2s = records.filter { $0.dir == .c2s && $0.kind.isMessage }
        let s2c = records.filter { $0.dir == .s2c && $0.kind.isMessage }
        #expect(c2s.map(\.payload) == sent.map(payload), "connection \(n): client messages")
        #expect(s2c.map(\.payload) == received.map(payload), "connection \(n): server messages")
        #expect(c2s.map(\.kind.rawValue) == sent.map { $0["kind"]!.stringValue! })
        let close = records.first { $0.kind == .close && $0.dir == .c2s }
        #expect(close?.code == Int(expected["close"].map { if case .number(let t) = $0 { return t } else { return "" } } ?? ""))
    }

    final class Collector: TapSink {
        var records: [CaptureRecord] = []
        var violations: [(conn: String, dir: Direction, rule: String, message: String)] = []

        func record(_ record: CaptureRecord) throws { records.append(record) }
        func violation(conn: String, dir: Direction, rule: Rule, message: String, offset: Int) throws {
            violations.append((conn, dir, rule.id, message))
        }
    }

    static func decode(_ path: String, options: PcapDecoder.Options = PcapDecoder.Options()) throws -> (Collector, DecodeSummary) {
        let collector = Collector()
        let summary = try PcapDecoder(sink: collector, options: options).decode(path: path)
        return (collector, summary)
    }

    /// Records without their timestamps, which re-segmenting legitimately changes.
    /// The messages of each TCP stream in a proxy's pcap: each proxied connection is two legs.
    static func messagesByLeg(_ path: String, options: PcapDecoder.Options = PcapDecoder.Options()) throws -> [[[UInt8]]] {
        let (decoded, _) = try decode(path, options: options)
        return Dictionary(grouping: decoded.records.filter(\.kind.isMessage), by: \.conn).sorted { $0.key < $1.key }.map { $0.value.map(\.payload) }
    }

    static func timeless(_ records: [CaptureRecord]) -> [CaptureRecord] {
        records.map { var r = $0; r.ts = ""; return r }
    }

    struct Segment {
        var timestamp: Int64
        var segment: TCPSegment
    }

    /// The TCP segments of a capture, in file order.
    static func segments(_ path: String) throws -> [Segment] {
        let file = try PcapFile(path: path)
        var reader = PacketReader()
        var result: [Segment] = []
        while let packet = try file.next() {
            guard let segment = reader.segment(packet.data, linkType: file.linkType) else { continue }
            result.append(Segment(timestamp: packet.timestamp, segment: segment))
        }
        return result
    }

    struct Mangling {
        var segmentSize = Int.max
        /// Swap each pair of consecutive pieces of one segment.
        var reorder = false
        /// Send every third piece twice.
        var retransmit = false
        /// Follow each segment with one that re-sends its last bytes and the next piece's first.
        var overlap = false
        var link = PcapWriter.Link.ethernet
        var format = PcapWriter.Format.pcap(nanosecond: false, bigEndian: false)
    }

    /// Rewrites a capture with its TCP payloads cut, shuffled and repeated; the byte streams stay the same.
    static func mangle(_ source: String, to path: String, _ m: Mangling) throws {
        let writer = try PcapWriter(path: path, link: m.link, format: m.format)
        for item in try segments(source) {
            let s = item.segment
            func packet(_ seq: UInt32, _ bytes: [UInt8], flags: UInt8) -> [UInt8] {
                TCPPacketBuilder.ipPacket(from: s.source, to: s.destination, sequence: seq, acknowledgment: s.acknowledgment, flags: flags, payload: bytes)
            }
            if s.payload.isEmpty {
                try writer.write(ipPacket: packet(s.sequence, [], flags: s.flags), timestamp: item.timestamp)
                continue
            }
            var pieces: [(UInt32, [UInt8])] = stride(from: 0, to: s.payload.count, by: min(m.segmentSize, s.payload.count)).map { start in
                (s.sequence &+ UInt32(start), Array(s.payload[start..<min(s.payload.count, start + m.segmentSize)]))
            }
            if m.reorder {
                for i in stride(from: 0, to: pieces.count - 1, by: 2) { pieces.swapAt(i, i + 1) }
            }
            var out: [(UInt32, [UInt8])] = []
            for (i, piece) in pieces.enumerated() {
                out.append(piece)
                if m.retransmit && i % 3 == 0 { out.append(piece) }
                if m.overlap && piece.1.count > 2 {
                    let start = piece.1.count / 2
                    let all = Array(s.payload)
                    let from = Int(piece.0 &- s.sequence) + start
                    out.append((piece.0 &+ UInt32(start), Array(all[from..<min(all.count, from + piece.1.count)])))
                }
            }
            // FIN or RST goes on the last piece only, after all data.
            for (i, piece) in out.enumerated() {
                let flags = i == out.count - 1 ? s.flags : s.flags & ~(TCPPacketBuilder.flagFIN | TCPPacketBuilder.flagRST)
                try writer.write(ipPacket: packet(piece.0, piece.1, flags: flags), timestamp: item.timestamp)
            }
        }
        try writer.close()
    }

    static func tshark(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Complete data messages per TCP stream, counted from tshark's own TCP reassembly
    /// (`follow,tcp,raw`) with a minimal frame walk written apart from basetap's parser.
    /// tshark's WebSocket dissector undercounts when frames share segments, so this is the exact oracle.
    static func tsharkReassembledMessageCounts(_ path: String) throws -> [Int] {
        let streams = Set(try tshark(["-r", path, "-T", "fields", "-e", "tcp.stream"]).split(separator: "\n").compactMap { Int($0) })
        return try streams.sorted().map { stream in
            var directions: [[UInt8]] = [[], []]
            var started = false
            for line in try tshark(["-r", path, "-q", "-z", "follow,tcp,raw,\(stream)"]).split(separator: "\n") {
                if line.hasPrefix("Node 1") { started = true; continue }
                guard started, !line.hasPrefix("==="), !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                let hex = line.trimmingCharacters(in: .whitespaces)
                let bytes = stride(from: 0, to: hex.count - 1, by: 2).compactMap { i -> UInt8? in
                    let start = hex.index(hex.startIndex, offsetBy: i)
                    return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)
                }
                directions[line.hasPrefix("\t") ? 1 : 0] += bytes
            }
            return directions.map(countFinishedDataFrames).reduce(0, +)
        }.filter { $0 > 0 }
    }

    private static func countFinishedDataFrames(_ stream: [UInt8]) -> Int {
        guard let head = stream.firstRange(of: Array("\r\n\r\n".utf8)) else { return 0 }
        var i = head.upperBound
        var count = 0
        while i + 2 <= stream.count {
            var length = Int(stream[i + 1] & 0x7F)
            var j = i + 2
            if length == 126, j + 2 <= stream.count {
                length = Int(stream[j]) << 8 | Int(stream[j + 1])
                j += 2
            } else if length == 127, j + 8 <= stream.count {
                length = stream[j..<j + 8].reduce(0) { $0 << 8 | Int($1) }
                j += 8
            }
            if stream[i + 1] & 0x80 != 0 { j += 4 }
            guard j + length <= stream.count else { break }
            if stream[i] & 0x80 != 0 && [0, 1, 2].contains(stream[i] & 0x0F) { count += 1 }
            i = j + length
        }
        return count
    }

    /// Messages per connection as tshark's WebSocket dissector counts them.
    static func tsharkMessageCounts(_ path: String, port: Int) throws -> [Int] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
        process.arguments = [
            "-r", path, "-d", "tcp.port==\(port),http", "-Y",
            "websocket && websocket.fin == 1 && (websocket.opcode == 0 || websocket.opcode == 1 || websocket.opcode == 2)",
            "-T", "fields", "-e", "tcp.stream",
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var counts: [String: Int] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") { counts[String(line), default: 0] += 1 }
        return counts.keys.sorted { Int($0)! < Int($1)! }.map { counts[$0]! }
    }
}

/// tcpdump on loopback for a test that captures traffic it does not script itself (a proxy's two
/// legs), stopped once the capture holds the end of every connection the test expects.
final class Tcpdump {
    let path: String
    private let peer: Peer

    init(path: String, ports: [Int]) throws {
        self.path = path
        let filter = ports.map { "tcp port \($0)" }.joined(separator: " or ")
        peer = try Peer.unblocked("/usr/bin/tcpdump", ["-i", "lo", "--immediate-mode", "-B", "65536", "-U", "-s", "0", "-w", path, filter])
        try peer.waitFor("listening on")
    }

    /// TCP connections in the capture so far that are over: closed both ways, or reset.
    func endedConnections() -> Int {
        guard let file = try? PcapFile(path: path) else { return 0 }
        var reader = PacketReader()
        var fins: [Set<Endpoint>: Set<Endpoint>] = [:]
        var reset: Set<Set<Endpoint>> = []
        // tcpdump may be half way through writing the last packet: what is whole is read.
        while let packet = try? file.next() {
            guard let segment = reader.segment(packet.data, linkType: file.linkType) else { continue }
            let flow: Set<Endpoint> = [segment.source, segment.destination]
            if segment.rst { reset.insert(flow) }
            if segment.fin { fins[flow, default: []].insert(segment.source) }
        }
        return Set(fins.filter { $0.value.count == 2 }.keys).union(reset).count
    }

    /// Stops tcpdump once `connections` connections have ended in the capture; returns what it printed
    /// (its counts of packets captured and dropped).
    @discardableResult
    func stop(afterConnections connections: Int) throws -> String {
        try waitUntil("\(connections) TCP connections to end in \(path)", changesIn: URL(fileURLWithPath: path).deletingLastPathComponent().path) {
            endedConnections() >= connections
        }
        return peer.stop()
    }
}

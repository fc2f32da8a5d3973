import Foundation
import Testing
@testable import BasetapKit

/// Captures other projects made of other programs (zeek's and suricata's test traces, listed with
/// their origin in `Resources/real-captures/SOURCES.txt`): basetap decodes each to what tshark
/// decodes, frame by frame and message by message, deflate included.
@Suite struct RealCaptureTests {
    static let directory = repositoryRoot.appendingPathComponent("Tests/BasetapKitTests/Resources/real-captures")
    static let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
        .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted()

    /// One direction of one connection as a dissector shows it. Data and control frames are two
    /// lists: basetap records a message when its last frame arrives, so a Ping between fragments
    /// comes before the message's frames in the records and between them on the wire.
    struct Wire: Equatable, CustomStringConvertible {
        var frames: [String] = []
        var controlFrames: [String] = []
        var texts: [String] = []
        var binaries: [String] = []
        var closeCodes: [Int] = []

        var description: String { "frames \(frames), control frames \(controlFrames), texts \(texts.map { $0.prefix(60) }), binaries \(binaries.map { $0.prefix(40) }), close codes \(closeCodes)" }
    }

    /// tshark's view, by "client port>server port" and direction; the client is the side whose
    /// port the HTTP request came from. `options` go to tshark as they are (a key log, a port's protocol).
    static func tshark(_ path: String, options: [String] = []) throws -> [String: Wire] {
        let requests = try PcapFixtures.tshark(["-r", path] + options + ["-Y", "http.request", "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport"])
        var clientPorts: [String: String] = [:]
        for line in requests.split(separator: "\n") {
            let ports = line.split(separator: "\t").map(String.init)
            if ports.count == 2 { clientPorts[ports[0]] = ports[1] }
        }
        let fields = ["tcp.srcport", "tcp.dstport", "websocket.fin", "websocket.rsv", "websocket.opcode", "websocket.mask", "websocket.payload_length",
                      "websocket.payload_length_ext_16", "websocket.payload_length_ext_64", "websocket.payload.text", "data.data", "websocket.payload.close.status_code"]
        let out = try PcapFixtures.tshark(["-r", path] + options + ["-Y", "websocket", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\u{1F}"]
            + fields.flatMap { ["-e", $0] })
        var result: [String: Wire] = [:]
        for line in out.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.isEmpty ? [] : $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init) }
            guard f.count == fields.count, let source = f[0].first, let destination = f[1].first else { continue }
            let key = clientPorts[source] == destination ? "\(source)>\(destination) c2s" : "\(destination)>\(source) s2c"
            var wire = result[key] ?? Wire()
            // The extended lengths are listed only for the frames that have one, in frame order.
            var extended16 = f[7].compactMap { Int($0) }[...], extended64 = f[8].compactMap { Int($0) }[...]
            for i in f[2].indices {
                let rsv = Int(f[3][i].dropFirst(2), radix: 16) ?? -1
                var length = Int(f[6][i]) ?? -1
                if length == 126 { length = extended16.popFirst() ?? -1 } else if length == 127 { length = extended64.popFirst() ?? -1 }
                let frame = "fin \(f[2][i]) rsv \(rsv) op \(f[4][i]) mask \(f[5][i]) len \(length)"
                if WebSocketOpcode.isControl(UInt8(f[4][i]) ?? 0) { wire.controlFrames.append(frame) } else { wire.frames.append(frame) }
            }
            wire.texts += f[9].map(Self.unescaped)
            wire.binaries += f[10]
            wire.closeCodes += f[11].compactMap { Int($0) }
            result[key] = wire
        }
        return result
    }

    /// tshark writes CR, LF, tab and backslash in a field as `\r`, `\n`, `\t`, `\\`.
    static func unescaped(_ field: String) -> String {
        var out = "", escaping = false
        for c in field {
            if escaping {
                out.append(["r": "\r", "n": "\n", "t": "\t"][c] ?? c)
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                out.append(c)
            }
        }
        return out
    }

    static func basetap(_ path: String, options: PcapDecoder.Options = PcapDecoder.Options()) throws -> [String: Wire] {
        let (collector, _) = try PcapFixtures.decode(path, options: options)
        var result: [String: Wire] = [:]
        for record in collector.records {
            guard let dir = record.dir else { continue }
            let ports = record.conn.split(separator: ">").map { $0.split(separator: ":").last.map(String.init) ?? "" }
            let key = "\(ports[0])>\(ports[1].split(separator: "#")[0]) \(dir)"
            var wire = result[key] ?? Wire()
            for frame in record.frames ?? [] {
                let text = "fin \(frame.fin ? 1 : 0) rsv \(frame.rsv) op \(frame.opcode) mask \(frame.masked ? 1 : 0) len \(frame.length)"
                if WebSocketOpcode.isControl(frame.opcode) { wire.controlFrames.append(text) } else { wire.frames.append(text) }
            }
            switch record.kind {
            case .text: wire.texts.append(record.text ?? "")
            case .binary where !record.payload.isEmpty:  // tshark shows no data field for an empty message
                wire.binaries.append(record.payload.map { String(format: "%02x", $0) }.joined())
            case .close: if let code = record.code { wire.closeCodes.append(code) }
            default: break
            }
            result[key] = wire
        }
        return result
    }

    @Test func theCapturesAreThere() {
        #expect(Self.files.count == 20)
    }

    @Test(arguments: files)
    func decodesAsTsharkDecodes(file: String) throws {
        let path = Self.directory.appendingPathComponent(file).path
        let ours = try Self.basetap(path), theirs = try Self.tshark(path)
        #expect(ours.keys.sorted() == theirs.keys.sorted(), "\(file): connections and directions")
        for key in ours.keys.sorted() where theirs[key] != nil {
            #expect(ours[key] == theirs[key], "\(file) \(key):\nbasetap \(ours[key]!)\ntshark  \(theirs[key]!)")
        }
    }
}

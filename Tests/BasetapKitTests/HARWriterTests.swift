import Foundation
import Testing
@testable import BasetapKit

@Suite struct HARWriterTests {
    /// Any capture written as a HAR reads back as the same session, with the fields DevTools'
    /// import and the HAR 1.2 spec require.
    @Test func aCaptureWrittenAsHARReadsBackTheSame() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let capture = try ReplayTests.capture(in: directory, conns: 2)
        let har = directory.appendingPathComponent("out.har").path
        let result = try runBasetap(["decode", capture, "--format", "har", "-o", har])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONValue(parsing: [UInt8](try Data(contentsOf: URL(fileURLWithPath: har))))
        #expect(document["log"]?["version"]?.stringValue == "1.2")
        let entries = try #require(document["log"]?["entries"]?.arrayValue)
        #expect(entries.count == 2)
        for entry in entries {
            for key in ["startedDateTime", "time", "request", "response", "cache", "timings", "_resourceType", "_webSocketMessages"] {
                #expect(entry[key] != nil, "entry.\(key)")
            }
            for key in ["method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"] { #expect(entry["request"]?[key] != nil, "request.\(key)") }
            for key in ["status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"] { #expect(entry["response"]?[key] != nil, "response.\(key)") }
            #expect(entry["request"]?["url"]?.stringValue?.hasPrefix("ws://old.example.org/replay?c=") == true)
        }
        let original = try JSONLCaptureReader(path: capture).readAll()
        let back = try HARReader.read(path: har).records
        func session(_ records: [CaptureRecord]) -> [String] {
            records.filter(\.kind.hasDirection).map { "\($0.dir!) \($0.kind) \($0.code.map(String.init) ?? "") \(String(decoding: $0.payload, as: UTF8.self)) \($0.ts)" }
        }
        #expect(session(back) == session(original.filter { $0.conn == "c1" }) + session(original.filter { $0.conn == "c2" }))
        #expect(back.first?.url == original.first?.url && back.first?.headers == original.first?.headers)
    }
}

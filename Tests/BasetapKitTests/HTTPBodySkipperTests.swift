import Testing
@testable import BasetapKit

/// Bodies passed over on a keep-alive connection, whole or in any pieces, to find the next message.
@Suite struct HTTPBodySkipperTests {
    static func head(_ text: String) throws -> HTTPHead {
        var reader = HTTPHeadReader()
        guard case .head(let head, _) = reader.feed(Array((text + "\r\n\r\n").utf8)) else { throw BasetapError.usage("not a head: \(text)") }
        return head
    }

    /// Feeds `body + "NEXT"` in pieces of `step` bytes; returns what came after the body.
    static func skip(_ framing: HTTPBodyFraming, _ body: String, step: Int) -> String? {
        guard var skipper = HTTPBodySkipper(framing) else { return nil }
        let bytes = Array((body + "NEXT").utf8)
        var at = 0
        while at < bytes.count {
            let piece = bytes[at..<min(at + step, bytes.count)]
            switch skipper.skip(piece) {
            case .needMore: at += step
            case .done(let rest): return String(decoding: rest, as: UTF8.self) + String(decoding: bytes[min(at + step, bytes.count)...], as: UTF8.self)
            case .malformed(let why): return "malformed: \(why)"
            }
        }
        return nil
    }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func aBodyEndsWhereItsFramingSaysWhateverThePieces(step: Int) {
        #expect(Self.skip(.length(5), "hello", step: step) == "NEXT")
        #expect(Self.skip(.chunked, "5\r\nhello\r\n0\r\n\r\n", step: step) == "NEXT")
        #expect(Self.skip(.chunked, "A;name=value\r\n0123456789\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n", step: step) == "NEXT")
        #expect(Self.skip(.chunked, "3\nabc\n0\n\n", step: step) == "NEXT", "bare LFs, as lenient servers write")
    }

    @Test func aChunkSizeThatIsNotHexadecimalIsMalformed() {
        #expect(Self.skip(.chunked, "zz\r\nhello\r\n0\r\n\r\n", step: 100)?.hasPrefix("malformed: a chunk-size line \"zz") == true)
        #expect(Self.skip(.chunked, "FFFFFFFFFFFFFFFFFF\r\n", step: 100)?.hasPrefix("malformed") == true, "a size past 60 bits")
        #expect(Self.skip(.chunked, String(repeating: "1", count: 9000), step: 100)?.hasPrefix("malformed: a chunk-size line of more than") == true)
    }

    @Test func framingFollowsRFC9112() throws {
        let get = try Self.head("GET / HTTP/1.1\r\nHost: x")
        #expect(HTTPBodyFraming.request(get) == .none)
        #expect(HTTPBodyFraming.request(try Self.head("POST / HTTP/1.1\r\nContent-Length: 12")) == .length(12))
        #expect(HTTPBodyFraming.request(try Self.head("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3")) == .chunked)
        #expect(HTTPBodyFraming.request(try Self.head("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4")) == .malformed("Content-Length \"3, 4\""))
        #expect(HTTPBodyFraming.request(try Self.head("POST / HTTP/1.1\r\nContent-Length: 5, 5")) == .length(5))
        #expect(HTTPBodyFraming.request(try Self.head("POST / HTTP/1.1\r\nContent-Length: -1")) == .malformed("Content-Length \"-1\""))
        let ok = try Self.head("HTTP/1.1 200 OK\r\nContent-Length: 2")
        #expect(HTTPBodyFraming.response(ok, method: "GET") == .length(2))
        #expect(HTTPBodyFraming.response(ok, method: "HEAD") == .none)
        #expect(HTTPBodyFraming.response(try Self.head("HTTP/1.1 304 Not Modified\r\nContent-Length: 2"), method: "GET") == .none)
        #expect(HTTPBodyFraming.response(try Self.head("HTTP/1.1 200 OK"), method: "GET") == .untilClose)
        #expect(HTTPBodyFraming.response(try Self.head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"), method: "GET") == .chunked)
        #expect(HTTPBodyFraming.response(try Self.head("HTTP/1.1 200 Connection established"), method: "CONNECT") == .untilClose)
        #expect(try Self.head("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close").closesConnection)
        #expect(try !Self.head("HTTP/1.1 200 OK\r\nConnection: keep-alive").closesConnection)
    }
}

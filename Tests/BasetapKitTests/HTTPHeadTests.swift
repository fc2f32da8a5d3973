import Testing
@testable import BasetapKit

@Suite struct HTTPHeadTests {
    static let upgrade = "GET /chat?room=1 HTTP/1.1\r\nHost: example.org\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
        + "X-Folded: one\r\n\t two\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

    static func head(_ result: HTTPHeadReader.Result) -> (HTTPHead, [UInt8])? {
        if case .head(let head, let rest) = result { (head, rest) } else { nil }
    }

    @Test(arguments: [1, 2, 3, 7, 1_000])
    func aHeadFedInPiecesIsReadOnceWholeWithWhatFollows(piece: Int) throws {
        var reader = HTTPHeadReader()
        let bytes = Array(Self.upgrade.utf8) + [0x81, 0x05] + Array("hello".utf8)  // a frame right behind the head
        var result = HTTPHeadReader.Result.needMore
        var fed = 0
        while case .needMore = result, fed < bytes.count {
            result = reader.feed(bytes[fed..<min(fed + piece, bytes.count)])
            fed += piece
        }
        let (head, rest) = try #require(Self.head(result))
        #expect(head.startLine == ["GET", "/chat?room=1", "HTTP/1.1"])
        #expect(head.isRequest && head.method == "GET" && head.target == "/chat?room=1" && head.status == nil)
        #expect(head.asksForWebSocket, "Upgrade is compared without case")
        #expect(head.value("x-folded") == "one two", "an obsolete folded line joins its header")
        #expect(head.headers.map(\.name) == ["Host", "Upgrade", "Connection", "X-Folded", "Sec-WebSocket-Key"], "names as written, in wire order")
        #expect(!head.closesConnection)
        // Bytes after the head that came in its last piece come back.
        let tail = Array(bytes[(bytes.count - 7)...])
        #expect(tail.starts(with: rest) || rest.isEmpty)
        #expect(piece < 1_000 || rest == tail)
    }

    @Test func responsesAndConnectionClose() throws {
        var reader = HTTPHeadReader()
        let (head, rest) = try #require(Self.head(reader.feed(Array("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade, close\r\n\r\n".utf8))))
        #expect(!head.isRequest && head.status == 101 && head.method == nil && head.target == nil)
        #expect(head.closesConnection && rest.isEmpty)
    }

    @Test func bytesThatAreNoHTTPAreSaidSoAtOnceAndALongHeadIsTooLong() {
        var tls = HTTPHeadReader()
        #expect(tls.feed([0x16, 0x03, 0x01, 0x02, 0x00]) == .notHTTP("does not start with an HTTP request or status line"))
        var lower = HTTPHeadReader()
        #expect(lower.feed(Array("get / HTTP/1.1\r\n".utf8)) == .notHTTP("does not start with an HTTP request or status line"))
        var noColon = HTTPHeadReader()
        #expect(noColon.feed(Array("GET / HTTP/1.1\r\nno colon here\r\n\r\n".utf8)) == .notHTTP("malformed HTTP head"))
        var long = HTTPHeadReader(maxHeadSize: 256)
        #expect(long.feed(Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 300)).utf8)) == .tooLong)
        var short = HTTPHeadReader()
        #expect(short.feed(Array("GE".utf8)) == .needMore, "too few bytes to tell")
    }
}

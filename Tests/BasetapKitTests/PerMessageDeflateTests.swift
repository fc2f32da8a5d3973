import Testing
@testable import BasetapKit

@Suite struct PerMessageDeflateTests {
    @Test func parsesNegotiatedParameters() {
        let p = DeflateParameters.negotiated("x-other, permessage-deflate; server_no_context_takeover; client_max_window_bits=10")
        #expect(p?.serverNoContextTakeover == true)
        #expect(p?.clientNoContextTakeover == false)
        #expect(p?.clientMaxWindowBits == 10)
        #expect(DeflateParameters.negotiated("x-webkit-deflate-frame") == nil)
        #expect(DeflateParameters.negotiated(nil) == nil)
    }

    /// Found by fuzzing the pcap decoder: an empty parameter (a trailing "; ", or "; ;") trapped
    /// on an empty split, in `decode` and in the proxy alike, on a server's 101.
    @Test func emptyParametersArePassedOver() throws {
        #expect(DeflateParameters.negotiated("permessage-deflate; ") == DeflateParameters())
        let p = try #require(DeflateParameters.negotiated("permessage-deflate; server_max_window_bits=12; ;client_max_window_bits=9; =; =3"))
        #expect(p.serverMaxWindowBits == 12 && p.clientMaxWindowBits == 9)
        let tap = WebSocketTapTests.decoder(), sink = WebSocketTapTests.Sink()
        try tap.data(.c2s, Array(WebSocketTapTests.request.utf8), timestamp: 0, sink: sink)
        try tap.data(.s2c, Array(WebSocketTapTests.accept.replacingOccurrences(of: "\r\n\r\n", with: "\r\nSec-WebSocket-Extensions: permessage-deflate; \r\n\r\n").utf8), timestamp: 1, sink: sink)
        #expect(tap.deflate == DeflateParameters())
    }

    @Test(arguments: [true, false])
    func inflatesWithAndWithoutContextTakeover(takeover: Bool) throws {
        let messages = (0..<5).map { #"{"id":"\#($0)","type":"chat.send","payload":{"text":"hello hello hello"}}"# }
        let compressed = try deflate(messages, takeover: takeover)
        let inflater = MessageInflater(noContextTakeover: !takeover)
        #expect(try compressed.map { String(decoding: try inflater.inflate($0), as: UTF8.self) } == messages)
        if takeover { #expect(compressed[4].count < compressed[0].count, "later messages reuse the window") }
    }

    @Test func stopsADeflateBombAtTheLimit() throws {
        let bomb = try deflate([String(repeating: "0", count: 8 << 20)], takeover: false)[0]
        var limits = InflateLimits()
        limits.maxSize = 1 << 20
        let inflater = MessageInflater(noContextTakeover: true, limits: limits)
        #expect(throws: MessageInflater.Failure.tooLarge(limit: 1 << 20)) { try inflater.inflate(bomb) }
        var ratio = InflateLimits()
        ratio.maxRatio = 50
        #expect(throws: MessageInflater.Failure.ratio(limit: 50)) { try MessageInflater(noContextTakeover: true, limits: ratio).inflate(bomb) }
        #expect(throws: MessageInflater.Failure.corrupt) { try MessageInflater(noContextTakeover: true).inflate([0xFF, 0xFF, 0xFF]) }
    }
}

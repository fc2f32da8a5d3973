import Testing
@testable import BasetapKit

/// Every transition of a proxied connection's life, without sockets.
@Suite struct ProxyConnectionStateTests {
    @Test func anOrdinaryConnectionRelaysAndEndsWithTheClient() {
        var state = ProxyConnectionState()
        #expect(state.phase == .head)
        #expect(state.headComplete() == .connect)
        #expect(state.headComplete() == .ignore, "one upstream per connection")
        #expect(state.phase == .connecting)
        #expect(state.upstreamConnected() == .startRelay)
        #expect(state.phase == .relaying)
        #expect(state.inputEnded(.c2s, halfClose: true) == .shutOutput(of: .s2c), "plain TCP passes a half-close on")
        #expect(state.channelInactive(.s2c) == .closeOther)
        #expect(state.phase == .closing)
        #expect(state.channelInactive(.c2s) == .finish)
        #expect(state.phase == .closed)
        #expect(state.droppedBy == .c2s, "the client's FIN came first")
        #expect(state.failure == nil)
    }

    @Test func overTLSAnEndOfInputClosesBoth() {
        var state = ProxyConnectionState()
        _ = state.headComplete()
        _ = state.upstreamConnected()
        #expect(state.inputEnded(.s2c, halfClose: false) == .closeBoth)
        #expect(state.droppedBy == .s2c)
    }

    @Test func anUnreachableUpstreamIsA502() {
        var state = ProxyConnectionState()
        _ = state.headComplete()
        #expect(state.upstreamFailed("upstream x:1 unreachable: connection refused") == .answer(status: 502, reason: "upstream x:1 unreachable: connection refused"))
        #expect(state.phase == .closing)
        #expect(state.failure?.contains("refused") == true)
        #expect(state.channelInactive(.c2s) == .finish)
    }

    @Test func aClientThatResetsWhileConnectingLeavesNothingToRelay() {
        var state = ProxyConnectionState()
        _ = state.headComplete()
        state.failed("client connection failed: connection reset by peer")
        #expect(state.channelInactive(.c2s) == .finish)
        #expect(state.upstreamConnected() == .closeUpstream, "the upstream that arrives late is closed")
        #expect(state.upstreamFailed("late") == .nothing)
        #expect(state.failure == "client connection failed: connection reset by peer", "the first failure is kept")
    }

    @Test func basetapClosingIsNoPeersDrop() {
        var state = ProxyConnectionState()
        _ = state.headComplete()
        _ = state.upstreamConnected()
        #expect(state.basetapCloses(failure: "blocked by basetap: id.syntax", close: (1008, "basetap: id.syntax"), webSocket: true) == .closeWith(code: 1008, reason: "basetap: id.syntax"))
        #expect(state.basetapCloses(failure: nil, close: (1001, "basetap stopped"), webSocket: true) == .nothing, "once")
        _ = state.inputEnded(.s2c, halfClose: true)
        #expect(state.droppedBy == nil, "basetap ended it, not the server")
        #expect(state.failure == "blocked by basetap: id.syntax")
    }

    @Test func closingBeforeTheUpgradeClosesAtOnce() {
        var state = ProxyConnectionState()
        #expect(state.basetapCloses(failure: "idle", close: nil, webSocket: false) == .closeNow)
        var relaying = ProxyConnectionState()
        _ = relaying.headComplete()
        _ = relaying.upstreamConnected()
        #expect(relaying.basetapCloses(failure: nil, close: (1001, "basetap stopped"), webSocket: false) == .closeNow, "no Close frame on plain HTTP")
    }
}

/// The life of one proxied connection, decided here and acted on by `ProxyConnection` (the shape of
/// hummingbird's WebSocket state machine: methods take what happened and return what to do).
///
/// head → connecting → relaying → closing → closed. It also keeps what the connection's `end`
/// record needs: the first failure, and which side's TCP end came first unless basetap ended it.
struct ProxyConnectionState {
    enum Phase: Equatable {
        /// Reading the client's request head.
        case head
        /// The head is complete; the upstream is being reached.
        case connecting
        case relaying
        /// basetap or a peer began to end it; waiting for the channels to close.
        case closing
        case closed
    }

    private(set) var phase = Phase.head
    private(set) var failure: String?
    private(set) var endedBy: Direction?
    private(set) var endedByBasetap = false
    private var inactive = PerDirection(repeating: false)

    /// The side that dropped the connection, for `ws.no-closing-handshake`; nil when basetap ended it.
    var droppedBy: Direction? { endedByBasetap ? nil : endedBy }

    enum HeadAction: Equatable { case connect, ignore }

    mutating func headComplete() -> HeadAction {
        guard phase == .head else { return .ignore }
        phase = .connecting
        return .connect
    }

    enum ConnectedAction: Equatable { case startRelay, closeUpstream }

    mutating func upstreamConnected() -> ConnectedAction {
        // The client may have left while the upstream was being reached: nothing to relay for.
        guard phase == .connecting else { return .closeUpstream }
        phase = .relaying
        return .startRelay
    }

    enum FailedAction: Equatable { case answer(status: Int, reason: String), nothing }

    mutating func upstreamFailed(_ reason: String) -> FailedAction {
        guard phase == .connecting else { return .nothing }
        failure = reason
        phase = .closing
        return .answer(status: 502, reason: reason)
    }

    enum InputAction: Equatable {
        /// Pass the end on: shut the output of the other side (plain TCP keeps half-closes).
        case shutOutput(of: Direction)
        case closeBoth
        case nothing
    }

    /// One side's input ended (FIN). `dir` is the direction that side sends.
    mutating func inputEnded(_ dir: Direction, halfClose: Bool) -> InputAction {
        if endedBy == nil && !endedByBasetap { endedBy = dir }
        guard phase == .relaying || phase == .closing else { return .nothing }
        return halfClose ? .shutOutput(of: dir.opposite) : .closeBoth
    }

    enum InactiveAction: Equatable { case closeOther, finish, nothing }

    /// One side's channel closed.
    mutating func channelInactive(_ dir: Direction) -> InactiveAction {
        if endedBy == nil && !endedByBasetap { endedBy = dir }
        inactive[dir] = true
        if dir == .c2s || phase == .head || phase == .connecting {
            // The client is gone: so is the connection, whatever the upstream still does.
            let wasOpen = phase != .closed
            phase = .closed
            return wasOpen ? .finish : .nothing
        }
        if phase == .relaying { phase = .closing }
        return .closeOther
    }

    /// A side failed (a reset, a TLS error); the first failure is the one the `end` record keeps.
    mutating func failed(_ text: String) {
        if failure == nil { failure = text }
    }

    enum CloseAction: Equatable {
        /// Send a Close frame with this code and reason to the peers that speak WebSocket, then close.
        case closeWith(code: UInt16, reason: String)
        case closeNow
        case nothing
    }

    /// basetap ends the connection itself (--block, the idle timeout, stopping): no peer dropped it.
    /// `failure` goes to the `end` record; `close` is the Close frame a WebSocket connection gets.
    mutating func basetapCloses(failure: String?, close: (code: UInt16, reason: String)?, webSocket: Bool) -> CloseAction {
        guard phase != .closed && phase != .closing else { return .nothing }
        endedByBasetap = true
        if let failure { failed(failure) }
        let relaying = phase == .relaying
        phase = .closing
        if let close, relaying && webSocket { return .closeWith(code: close.code, reason: close.reason) }
        return .closeNow
    }
}

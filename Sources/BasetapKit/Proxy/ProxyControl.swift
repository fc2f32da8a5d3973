import NIOConcurrencyHelpers
import NIOCore

/// A message the proxy holds until someone decides (or its timeout does).
public struct HeldMessage: Sendable {
    public let conn: Int
    public let hold: Int
    public let record: CaptureRecord
}

/// What becomes of a held message.
public enum Release: Sendable, Equatable {
    case forward
    case drop
    /// Send this instead (re-framed by basetap; a text message stays text unless told otherwise).
    case edit(CaptureRecord.Kind, [UInt8])
}

/// Message-level control of a running proxy, for the terminal's `--intercept`, the web inspector and
/// tests: which messages to hold, and who hears of them. Holding, releasing and injecting happen on
/// each connection's event loop; this only keeps the settings they read.
public final class ProxyControl: Sendable {
    public struct HoldTimeout: Sendable {
        public var after: TimeAmount
        public var policy: Release

        public init(after: TimeAmount = .seconds(300), policy: Release = .forward) {
            self.after = after
            self.policy = policy
        }
    }

    private struct Settings {
        var filter: MessageFilter?
        var timeout = HoldTimeout()
        var onHeld: [@Sendable (HeldMessage) -> Void] = []
        var onSettled: [@Sendable (Int, Int) -> Void] = []
    }

    private let settings = NIOLockedValueBox(Settings())

    public init() {}

    /// Hold every message that matches (nil: hold none). Connections opened later and open ones alike.
    public func hold(_ filter: MessageFilter?, timeout: HoldTimeout = HoldTimeout()) {
        settings.withLockedValue {
            $0.filter = filter
            $0.timeout = timeout
        }
    }

    /// Called (on a connection's event loop) for each message held; every listener hears of it.
    public func onHeld(_ body: @escaping @Sendable (HeldMessage) -> Void) {
        settings.withLockedValue { $0.onHeld.append(body) }
    }

    /// Called (on a connection's event loop) when a hold ends: connection and hold number.
    public func onSettled(_ body: @escaping @Sendable (Int, Int) -> Void) {
        settings.withLockedValue { $0.onSettled.append(body) }
    }

    var isHolding: Bool { settings.withLockedValue { $0.filter != nil } }
    var holdTimeout: HoldTimeout { settings.withLockedValue { $0.timeout } }

    func shouldHold(_ record: CaptureRecord) -> Bool {
        guard let filter = settings.withLockedValue({ $0.filter }) else { return false }
        return filter.matches(record)
    }

    func held(_ message: HeldMessage) {
        for listener in settings.withLockedValue({ $0.onHeld }) { listener(message) }
    }

    func settled(conn: Int, hold: Int) {
        for listener in settings.withLockedValue({ $0.onSettled }) { listener(conn, hold) }
    }
}

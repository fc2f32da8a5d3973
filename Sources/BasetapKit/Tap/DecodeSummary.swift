/// Counts for the summary line of `decode` and `check` on pcap files.
public struct DecodeSummary: Sendable, Equatable {
    public var packets = 0
    public var tcpStreams = 0
    public var webSocketConnections = 0
    public var messages = 0
    public var controlFrames = 0
    public var gaps = 0
    public var gapBytes = 0
    public var overlapConflicts = 0
    public var tlsStreams = 0
    /// Connections that began before the capture and showed no upgrade.
    public var midstreamSkipped = 0
    /// TCP connections that carried something other than a WebSocket upgrade.
    public var otherStreams = 0
    /// Ordinary HTTP requests (not upgrades) followed on connections, keep-alive ones before an upgrade included.
    public var httpRequests = 0
    /// Bytes that could not be followed: after a gap, past a frame-size limit, of skipped streams.
    public var skippedBytes = 0
    /// Packets whose timestamp was out of range and clamped.
    public var clampedTimestamps = 0
    /// Set when the file ended in damage: the place and libpcap's message.
    public var truncation: String?

    public init() {}
}

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
    /// TLS connections that were not decrypted, and why, by reason.
    public var tlsStreams = 0
    public var tlsNotDecrypted: [String: Int] = [:]
    /// TLS connections decrypted with a key log, by version and cipher suite ("TLS 1.3, TLS_AES_128_GCM_SHA256").
    public var tlsDecrypted: [String: Int] = [:]
    /// Directions of decrypted connections that stopped decrypting part way, by what they stopped at.
    public var tlsLost: [String: Int] = [:]
    /// Connections that began before the capture and showed no upgrade.
    public var midstreamSkipped = 0
    /// TCP connections that carried something other than a WebSocket upgrade.
    public var otherStreams = 0
    /// Ordinary HTTP requests (not upgrades) followed on connections, keep-alive ones before an upgrade included.
    public var httpRequests = 0
    /// Bytes that could not be followed: after a gap, past a frame-size limit, of skipped streams.
    public var skippedBytes = 0
    /// Packets that held no TCP basetap could read, by what they held.
    public var unreadPackets: [PacketKind: Int] = [:]
    /// Packets whose TCP was found inside a tunnel, by the outermost one ("GTP-U").
    public var tunnelledPackets: [String: Int] = [:]
    /// Packets whose timestamp was out of range and clamped.
    public var clampedTimestamps = 0
    /// The `--conn` text the counts are limited to.
    public var selection: String?
    /// Set when the file ended in damage: the place and libpcap's message.
    public var truncation: String?

    public init() {}

    /// Whether the file held something that was not followed (a gap, TLS, a connection begun before
    /// the capture, clamped times) or no WebSocket connection at all: worth a line to the user.
    public var leftSomethingOut: Bool {
        gaps + tlsStreams + tlsLost.count + midstreamSkipped + clampedTimestamps > 0 || webSocketConnections == 0
    }

    /// What a packet was, as a summary names it: "3 UDP packets to port 53 (DNS)".
    public struct PacketKind: Hashable, Sendable, Comparable {
        public var noun: String
        public var detail: String

        public init(_ noun: String, _ detail: String = "") {
            self.noun = noun
            self.detail = detail
        }

        public func counted(_ n: Int) -> String {
            "\(n) \(noun)\(n == 1 ? "" : "s")" + (detail.isEmpty ? "" : " \(detail)")
        }

        public static func < (a: PacketKind, b: PacketKind) -> Bool { (a.noun, a.detail) < (b.noun, b.detail) }
    }
}

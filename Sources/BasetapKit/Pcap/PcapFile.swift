import CPcap
import Foundation

/// A pcap or pcapng file read through libpcap, packet by packet.
public final class PcapFile {
    public struct Packet {
        /// Capture time in nanoseconds since 1970.
        public var timestamp: Int64
        /// Captured bytes (may be fewer than were on the wire), valid until the next `next()`.
        public var data: UnsafeRawBufferPointer
        public var originalLength: Int
    }

    public let path: String
    public let linkType: Int32
    public private(set) var packetNumber = 0
    private let handle: OpaquePointer

    public init(path: String) throws {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            let message = String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw BasetapError.input(place: path, message: message.isEmpty ? "cannot open as pcap" : message)
        }
        self.path = path
        self.handle = handle
        linkType = pcap_datalink(handle)
    }

    deinit { pcap_close(handle) }

    /// Packets whose time did not fit in nanoseconds since 1970 (before 1970, past the year 2262, or
    /// a file that declares one resolution and writes another): their time is clamped, never trapped on.
    public private(set) var clampedTimestamps = 0

    /// A packet header's time in nanoseconds (`tv_usec` holds nanoseconds at nano precision).
    private func nanoseconds(_ ts: timeval) -> Int64 {
        let (seconds, overflowed) = Int64(ts.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, overflowedAgain) = seconds.addingReportingOverflow(Int64(ts.tv_usec))
        guard overflowed || overflowedAgain || sum < 0 else { return sum }
        clampedTimestamps += 1
        return ts.tv_sec < 0 ? 0 : Int64.max / 1_000_000_000 * 1_000_000_000
    }

    /// The next packet, nil at the end. A damaged file throws after the last readable packet,
    /// naming the packet number where reading stopped.
    public func next() throws -> Packet? {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let status = pcap_next_ex(handle, &header, &data)
        switch status {
        case 1:
            packetNumber += 1
            let h = header!.pointee
            return Packet(timestamp: nanoseconds(h.ts), data: UnsafeRawBufferPointer(start: data, count: Int(h.caplen)), originalLength: Int(h.len))
        case -2:
            return nil
        default:
            let message = String(cString: pcap_geterr(handle))
            throw BasetapError.input(place: "\(path): packet \(packetNumber + 1)", message: message)
        }
    }
}

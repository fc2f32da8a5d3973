import Foundation
import CZlib
import NIOCore

/// permessage-deflate (RFC 7692) as negotiated by a server's `Sec-WebSocket-Extensions` answer.
public struct DeflateParameters: Sendable, Equatable {
    public var serverNoContextTakeover = false
    public var clientNoContextTakeover = false
    public var serverMaxWindowBits = 15
    public var clientMaxWindowBits = 15

    public init() {}

    /// The parameters of the first `permessage-deflate` offer in a header value, or nil if none.
    public static func negotiated(_ header: String?) -> DeflateParameters? {
        guard let header else { return nil }
        for offer in header.split(separator: ",") {
            let parts = offer.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.first?.lowercased() == "permessage-deflate" else { continue }
            var p = DeflateParameters()
            // An empty parameter ("permessage-deflate; ", "; ;") names nothing: passed over.
            for parameter in parts.dropFirst() where !parameter.isEmpty {
                let kv = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                let value = kv.count > 1 ? Int(kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))) : nil
                switch kv[0].lowercased() {
                case "server_no_context_takeover": p.serverNoContextTakeover = true
                case "client_no_context_takeover": p.clientNoContextTakeover = true
                case "server_max_window_bits": p.serverMaxWindowBits = value ?? 15
                case "client_max_window_bits": p.clientMaxWindowBits = value ?? 15
                default: break
                }
            }
            return p
        }
        return nil
    }

    /// Whether the compressor of `direction` starts every message afresh.
    public func noContextTakeover(_ direction: Direction) -> Bool {
        direction == .c2s ? clientNoContextTakeover : serverNoContextTakeover
    }
}

/// Limits that keep a hostile compressed message from eating the machine.
public struct InflateLimits: Sendable {
    public static let defaultMaxSize = 64 << 20
    public static let defaultMaxRatio = 1000
    public static let defaultMaxFragments = 10_000

    public var maxSize = InflateLimits.defaultMaxSize
    /// Inflated / compressed, checked once the output passes 1 MiB (small messages can compress very well).
    public var maxRatio = InflateLimits.defaultMaxRatio
    /// Frames one message may be split into: each costs memory until the message ends, empty ones too.
    public var maxFragments = InflateLimits.defaultMaxFragments

    public init() {}
}

/// Inflates the messages of one direction, keeping the LZ77 window between messages unless
/// the peers agreed on no context takeover.
///
/// zlib's state (about 7 KB, and a 32 KB window once used) exists only while the inflater is
/// awake: it is made at the first compressed message, and an `InflaterBudget` puts the least
/// recently woken inflaters to sleep, keeping only the window's bytes (what the peer's compressor
/// may still refer to: no more than it has produced, and 32 KB at most).
public final class MessageInflater {
    public enum Failure: Error, Equatable {
        case tooLarge(limit: Int)
        case ratio(limit: Int)
        case corrupt
        /// An earlier message of this direction failed: with context takeover the rest cannot be read.
        case broken
    }

    private var stream: UnsafeMutablePointer<z_stream>?
    /// The window while asleep.
    private var window: [UInt8] = []
    private let noContextTakeover: Bool
    private let limits: InflateLimits
    private let budget: InflaterBudget?
    private var broken = false
    /// Which waking of the budget's this one is.
    private(set) var waking = 0

    public init(noContextTakeover: Bool, limits: InflateLimits = InflateLimits(), budget: InflaterBudget? = nil) {
        self.noContextTakeover = noContextTakeover
        self.limits = limits
        self.budget = budget
    }

    deinit {
        if stream != nil { budget?.fellAsleep() }
        release()
    }

    public var isAwake: Bool { stream != nil }
    /// Bytes kept while asleep.
    public var windowBytes: Int { window.count }

    public func inflate(_ compressed: [UInt8]) throws(Failure) -> [UInt8] {
        guard !broken || noContextTakeover else { throw Failure.broken }
        guard let stream = wake() else { throw Failure.corrupt }
        if noContextTakeover { inflateReset(stream) }
        var input = compressed
        input.append(contentsOf: [0x00, 0x00, 0xFF, 0xFF])
        var output = [UInt8](repeating: 0, count: min(max(1024, compressed.count * 4), limits.maxSize + 1))
        var produced = 0
        var result = Z_OK
        input.withUnsafeMutableBufferPointer { source in
            stream.pointee.next_in = source.baseAddress
            stream.pointee.avail_in = UInt32(source.count)
            while true {
                if produced == output.count {
                    if produced > limits.maxSize {
                        result = Z_MEM_ERROR
                        return
                    }
                    if produced > 1 << 20 && produced / max(1, compressed.count) > limits.maxRatio {
                        result = Z_NEED_DICT  // stands for the ratio limit below
                        return
                    }
                    output.append(contentsOf: repeatElement(0, count: min(output.count, limits.maxSize + 1 - output.count)))
                }
                output.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress! + produced
                    stream.pointee.avail_out = UInt32(out.count - produced)
                    result = CZlib.inflate(stream, Z_SYNC_FLUSH)
                    produced = out.count - Int(stream.pointee.avail_out)
                }
                // Done once every byte is read and zlib had room to spare: the message is whole.
                if result == Z_STREAM_END { return }
                if result != Z_OK && result != Z_BUF_ERROR { return }
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 {
                    result = Z_OK
                    return
                }
            }
        }
        switch result {
        case Z_OK: break
        case Z_STREAM_END:
            // A final block (BFINAL): the stream is over, but with context takeover the next message
            // still refers to this window.
            restart(stream)
        case Z_MEM_ERROR:
            broken = true
            throw Failure.tooLarge(limit: limits.maxSize)
        case Z_NEED_DICT:
            broken = true
            throw Failure.ratio(limit: limits.maxRatio)
        default:
            broken = true
            throw Failure.corrupt
        }
        guard produced <= limits.maxSize else {
            broken = true
            throw Failure.tooLarge(limit: limits.maxSize)
        }
        output.removeLast(output.count - produced)
        return output
    }

    /// zlib's state is freed; the window stays for the next message (unless none will use it).
    public func sleep() {
        guard let stream else { return }
        if !noContextTakeover && !broken { window = Self.dictionary(stream) }
        release()
        budget?.fellAsleep()
    }

    private func wake() -> UnsafeMutablePointer<z_stream>? {
        if let stream { return stream }
        let fresh = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        fresh.initialize(to: z_stream())
        // Inflating with the largest window works whatever window the compressor used.
        guard basetap_inflate_init(fresh, -15) == Z_OK else {
            fresh.deallocate()
            return nil
        }
        if !window.isEmpty {
            window.withUnsafeBufferPointer { _ = inflateSetDictionary(fresh, $0.baseAddress, UInt32($0.count)) }
            window = []
        }
        stream = fresh
        waking = budget?.woke(self) ?? 0
        return fresh
    }

    private func restart(_ stream: UnsafeMutablePointer<z_stream>) {
        let kept = noContextTakeover ? [] : Self.dictionary(stream)
        inflateReset(stream)
        if !kept.isEmpty { kept.withUnsafeBufferPointer { _ = inflateSetDictionary(stream, $0.baseAddress, UInt32($0.count)) } }
    }

    private static func dictionary(_ stream: UnsafeMutablePointer<z_stream>) -> [UInt8] {
        var length: UInt32 = 0
        inflateGetDictionary(stream, nil, &length)
        var bytes = [UInt8](repeating: 0, count: Int(length))
        bytes.withUnsafeMutableBufferPointer { _ = inflateGetDictionary(stream, $0.baseAddress, &length) }
        return bytes
    }

    private func release() {
        guard let stream else { return }
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        self.stream = nil
    }
}

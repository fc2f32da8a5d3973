import Foundation
import CompressNIO
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
            for parameter in parts.dropFirst() {
                let kv = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
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
public final class MessageInflater {
    public enum Failure: Error, Equatable {
        case tooLarge(limit: Int)
        case ratio(limit: Int)
        case corrupt
        /// An earlier message of this direction failed: with context takeover the rest cannot be read.
        case broken
    }

    private let decompressor: ZlibDecompressor
    private let noContextTakeover: Bool
    private let limits: InflateLimits
    private var broken = false

    public init(noContextTakeover: Bool, limits: InflateLimits = InflateLimits()) throws {
        // Inflating with the largest window works whatever window the compressor used.
        decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: 15)
        self.noContextTakeover = noContextTakeover
        self.limits = limits
    }

    public func inflate(_ compressed: [UInt8]) throws(Failure) -> [UInt8] {
        guard !broken || noContextTakeover else { throw Failure.broken }
        do {
            if noContextTakeover { try decompressor.reset() }
            var input = ByteBuffer()
            input.reserveCapacity(compressed.count + 4)
            input.writeBytes(compressed)
            input.writeBytes([0x00, 0x00, 0xFF, 0xFF])
            var output = ByteBuffer()
            output.reserveCapacity(max(1024, compressed.count * 4))
            while true {
                do {
                    try decompressor.inflate(from: &input, to: &output)
                    break
                } catch let error as CompressNIOError where error == .bufferOverflow {
                    if output.readableBytes > limits.maxSize { throw Failure.tooLarge(limit: limits.maxSize) }
                    if output.readableBytes > 1 << 20 && output.readableBytes / max(1, compressed.count) > limits.maxRatio {
                        throw Failure.ratio(limit: limits.maxRatio)
                    }
                    output.reserveCapacity(minimumWritableBytes: min(output.readableBytes + 1024, limits.maxSize))
                } catch let error as CompressNIOError where error == .inputBufferOverflow {
                    break  // all input consumed: the message is complete
                }
            }
            guard output.readableBytes <= limits.maxSize else { throw Failure.tooLarge(limit: limits.maxSize) }
            return output.readBytes(length: output.readableBytes) ?? []
        } catch let failure as Failure {
            broken = true
            throw failure
        } catch {
            broken = true
            throw Failure.corrupt
        }
    }
}

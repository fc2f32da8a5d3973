import CZlib

/// Compresses the messages of one direction for permessage-deflate (RFC 7692 §7.2.1) when basetap
/// itself must send them: after a message was dropped or edited, the receiver's LZ77 window no
/// longer matches the sender's, so every later message is inflated (by the tap) and compressed
/// again here. The compressor starts from what the receiver has already inflated
/// (`deflateSetDictionary` on its window), so context takeover stays valid for the receiver.
final class MessageDeflater {
    private var stream = z_stream()
    private let noContextTakeover: Bool

    /// `windowBits`: the negotiated `*_max_window_bits` for this direction; `window`: the last
    /// bytes the receiver inflated (ignored with no context takeover).
    init(windowBits: Int, noContextTakeover: Bool, window: [UInt8]) {
        self.noContextTakeover = noContextTakeover
        // zlib's raw deflate has no 8-bit window (it turns 8 into 9 itself); peers that negotiate 8
        // are rare for that reason (RFC 7692 §7.1.2.1).
        let bits = Int32(max(9, min(15, windowBits)))
        _ = basetap_deflate_init(&stream, Z_DEFAULT_COMPRESSION, -bits)
        if !noContextTakeover && !window.isEmpty {
            let limit = 1 << Int(bits)
            let recent = window.suffix(limit)
            _ = recent.withContiguousStorageIfAvailable { bytes in
                deflateSetDictionary(&stream, bytes.baseAddress, UInt32(bytes.count))
            } ?? Array(recent).withUnsafeBufferPointer { deflateSetDictionary(&stream, $0.baseAddress, UInt32($0.count)) }
        }
    }

    deinit {
        deflateEnd(&stream)
    }

    /// One message's payload as it goes on the wire (RSV1 set on its first frame).
    func compress(_ message: [UInt8]) -> [UInt8] {
        if noContextTakeover { deflateReset(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(message.count))) + 16)
        var written = 0
        var input = message
        input.withUnsafeMutableBufferPointer { inputBytes in
            stream.next_in = inputBytes.baseAddress
            stream.avail_in = UInt32(inputBytes.count)
            repeat {
                if written == output.count { output.append(contentsOf: repeatElement(0, count: max(256, output.count / 2))) }
                output.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress! + written
                    stream.avail_out = UInt32(out.count - written)
                    _ = deflate(&stream, Z_SYNC_FLUSH)
                    written = out.count - Int(stream.avail_out)
                }
            } while stream.avail_out == 0
        }
        output.removeSubrange(written...)
        // RFC 7692 §7.2.1: the sync flush's empty stored block (00 00 FF FF) is not sent.
        if output.count >= 4 && output.suffix(4).elementsEqual([0x00, 0x00, 0xFF, 0xFF]) { output.removeLast(4) }
        return output
    }
}

/// The last bytes a receiver inflated in one direction: what its LZ77 window holds.
struct InflatedWindow {
    private(set) var bytes: [UInt8] = []
    static let size = 1 << 15

    mutating func append(_ message: [UInt8]) {
        if message.count >= Self.size {
            bytes = Array(message.suffix(Self.size))
            return
        }
        bytes.append(contentsOf: message)
        if bytes.count > 2 * Self.size { bytes.removeFirst(bytes.count - Self.size) }
    }

    var recent: ArraySlice<UInt8> { bytes.suffix(Self.size) }
}

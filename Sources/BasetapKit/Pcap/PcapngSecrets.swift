import Foundation

/// The TLS key logs a pcapng carries in Decryption Secrets Blocks (what `editcap --inject-secrets`
/// writes), which libpcap passes over. Blocks are walked by their lengths only, with the file mapped
/// rather than read; a file that is not pcapng, or whose blocks stop making sense, has no more secrets
/// (libpcap reports the damage when it reads the packets).
enum PcapngSecrets {
    private static let sectionHeader: UInt32 = 0x0A0D_0D0A
    private static let decryptionSecrets: UInt32 = 0x0000_000A
    private static let tlsKeyLog: UInt32 = 0x544C_534B  // "TLSK"

    static func keyLog(path: String) throws -> TLSKeyLog {
        var log = TLSKeyLog()
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return log }
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            var bigEndian = false
            var number = 0
            func word(_ at: Int) -> UInt32 {
                let raw = bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)
                return bigEndian ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)
            }
            while offset + 12 <= bytes.count {
                let rawType = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
                if rawType == Self.sectionHeader {  // the same bytes in either order
                    bigEndian = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self) == UInt32(0x1A2B_3C4D).byteSwapped
                } else if offset == 0 {
                    return  // not pcapng
                }
                number += 1
                let type = word(offset), length = Int(word(offset + 4))
                guard length >= 12, length % 4 == 0, offset + length <= bytes.count else { return }
                if type == Self.decryptionSecrets, length >= 20, word(offset + 8) == Self.tlsKeyLog {
                    let size = Int(word(offset + 12))
                    guard size <= length - 20 else { return }
                    let text = [UInt8](bytes[(offset + 16)..<(offset + 16 + size)])
                    try log.add(text[...], place: "\(path): Decryption Secrets Block (block \(number))")
                }
                offset += length
            }
        }
        return log
    }
}

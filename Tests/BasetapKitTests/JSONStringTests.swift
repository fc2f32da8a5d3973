import Foundation
import Testing
@testable import BasetapKit

@Suite struct JSONStringTests {
    /// A JSON string literal's body for `text`, each character written one of the ways JSON allows,
    /// chosen at random: as it is, as a short escape, or as \u escapes (surrogate pairs past U+FFFF).
    static func literal(_ text: String, random: inout FuzzRandom) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let short: [Unicode.Scalar: String] = ["\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\u{08}": "\\b", "\u{0C}": "\\f", "/": "\\/"]
            let mustEscape = scalar.value < 0x20 || scalar == "\"" || scalar == "\\"
            switch random.next() % 4 {
            case 0 where !mustEscape: out.unicodeScalars.append(scalar)
            case 1 where short[scalar] != nil: out += short[scalar]!
            default:
                for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
            }
        }
        return out
    }

    /// Undoing escapes eight bytes at a time gives what one byte at a time gives, whatever the
    /// runs between backslashes and wherever a block boundary falls.
    @Test func decodingGivesBackTheTextWhateverItsEscapes() {
        var random = FuzzRandom(seed: 13)
        let alphabet: [String] = ["a", "b", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "é", "€", "𝄞", "{", "}", ":"]
        for round in 0..<3_000 {
            let length = Int(random.next() % 40)
            let text = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(round % 3 == 0 ? 5 : alphabet.count))] }.joined()
            let literal = Array(Self.literal(text, random: &random).utf8)
            // Put the literal at every offset of an eight-byte block, inside quotes as in a document.
            let offset = round % 8
            let document = Array(repeating: UInt8(ascii: " "), count: offset) + [UInt8(ascii: "\"")] + literal + [UInt8(ascii: "\"")]
            var decoded: [UInt8] = []
            document.withUnsafeBytes { JSONString.decode($0, from: offset + 1, to: document.count - 1, into: &decoded) }
            #expect(decoded == Array(text.utf8), "\(String(decoding: literal, as: UTF8.self))")
        }
    }
}

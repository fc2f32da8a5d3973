/// A closed set of member names (a capture record's fields, a BaseMessage's members), found from a
/// key's bytes with one multiplication and one comparison.
///
/// A switch over the names compiled to a chain of branches taken a different way for every key of
/// a document, which the processor kept mispredicting; here the key's first eight bytes and its
/// length pick a slot of a small table by a multiplicative hash chosen so that no two names share
/// one, and the slot's name is the only candidate.
struct NameTable<Name: RawRepresentable>: Sendable where Name.RawValue == Int {
    private struct Slot: Sendable {
        var word: UInt64 = 0
        var length = -1
        var name = 0
        /// The name's bytes past the eighth.
        var tail: [UInt8] = []
    }

    private let slots: [Slot]
    private let multiplier: UInt64
    private let shift: UInt64

    init(_ names: [(String, Name)]) {
        // Two names alike in length and first eight bytes would share a slot under every multiplier.
        precondition(
            Set(names.map { "\($0.0.utf8.count):\(String(decoding: $0.0.utf8.prefix(8), as: UTF8.self))" }).count == names.count,
            "names must differ in their length or their first eight bytes")
        var size = 8
        while size < names.count * 2 { size *= 2 }
        // Odd multipliers from a fixed sequence until one spreads the names over distinct slots
        // (for a few dozen names in twice as many slots, one of the first few does).
        var candidate: UInt64 = 0x9E37_79B9_7F4A_7C15
        while true {
            let shift = UInt64(64 - size.trailingZeroBitCount)
            var slots = [Slot](repeating: Slot(), count: size)
            var distinct = true
            for (text, name) in names {
                let bytes = Array(text.utf8)
                let word = Self.word(bytes.prefix(8))
                let index = Int(truncatingIfNeeded: ((word ^ UInt64(bytes.count)) &* candidate) >> shift)
                guard slots[index].length < 0 else {
                    distinct = false
                    break
                }
                slots[index] = Slot(word: word, length: bytes.count, name: name.rawValue, tail: Array(bytes.dropFirst(8)))
            }
            if distinct {
                self.slots = slots
                multiplier = candidate
                self.shift = shift
                return
            }
            candidate = (candidate &* 0x5851_F42D_4C95_7F2D &+ 0x1405_7B7E_F767_814F) | 1
        }
    }

    private static func word(_ bytes: some Collection<UInt8>) -> UInt64 {
        var word: UInt64 = 0
        for (k, byte) in bytes.enumerated() { word |= UInt64(byte) << (8 * k) }
        return word
    }

    /// The name `key` spells, if any. `readable`: how many bytes may be read from the key's start
    /// (eight or more lets its first eight bytes be read at once, the common case in a document).
    @inline(__always)
    func name(_ key: UnsafeRawBufferPointer, readable: Int) -> Name? {
        let length = key.count
        var word: UInt64
        if readable >= 8 {
            word = UInt64(littleEndian: key.baseAddress!.loadUnaligned(as: UInt64.self))
            if length < 8 { word &= (1 << (UInt64(length) * 8)) &- 1 }
        } else {
            word = Self.word(key)
        }
        let slot = slots[Int(truncatingIfNeeded: ((word ^ UInt64(length)) &* multiplier) >> shift)]
        guard slot.word == word, slot.length == length else { return nil }
        if length > 8 {
            guard slot.tail.withUnsafeBytes({ ByteCompare.equal($0, UnsafeRawBufferPointer(rebasing: key[8...])) }) else { return nil }
        }
        return Name(rawValue: slot.name)
    }
}

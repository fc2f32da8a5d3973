/// Bytes appended in blocks of 1 MiB and dropped from the front a block at a time: one growing
/// array would copy all of it (and for a moment hold it twice) every time it grew.
struct ByteArena: Sendable {
    struct Span: Sendable {
        var block: Int32
        var offset: Int32
        var count: Int32
    }

    static let blockSize = 1 << 20
    private var blocks: [[UInt8]] = []
    /// Blocks already dropped from the front: spans keep their absolute block numbers.
    private var dropped = 0

    mutating func append(_ first: some Collection<UInt8>, _ second: some Collection<UInt8>) -> Span {
        let count = first.count + second.count
        if blocks.isEmpty || blocks[blocks.count - 1].count + count > max(Self.blockSize, blocks[blocks.count - 1].capacity) {
            var block: [UInt8] = []
            block.reserveCapacity(max(Self.blockSize, count))
            blocks.append(block)
        }
        let last = blocks.count - 1
        let span = Span(block: Int32(dropped + last), offset: Int32(blocks[last].count), count: Int32(count))
        blocks[last].append(contentsOf: first)
        blocks[last].append(contentsOf: second)
        return span
    }

    func bytes(_ span: Span) -> ArraySlice<UInt8> {
        let start = Int(span.offset)
        return blocks[Int(span.block) - dropped][start..<start + Int(span.count)]
    }

    /// Frees every block before the one `span` is in.
    mutating func drop(before span: Span) {
        let count = Int(span.block) - dropped
        guard count > 0 else { return }
        blocks.removeFirst(count)
        dropped += count
    }
}

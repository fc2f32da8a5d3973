/// One direction of a TCP connection put back in order by sequence number.
///
/// Out-of-order segments wait (up to `maxPendingBytes`); retransmissions and overlaps keep the
/// first copy and report a copy that disagrees; a hole that never fills is reported as a gap
/// with its size, after which the stream goes on from the next bytes that did arrive.
public struct TCPStreamReassembler: Sendable {
    public static let defaultMaxPendingBytes = 16 << 20
    /// Bytes of delivered data kept to compare retransmissions against.
    static let historySize = 1 << 16

    public enum Event: Equatable, Sendable {
        case data([UInt8])
        /// `missing` bytes never arrived before `offset`.
        case gap(offset: Int, missing: Int)
        /// A later copy of the bytes at `offset` differed from the first.
        case conflict(offset: Int, length: Int)
    }

    public let maxPendingBytes: Int
    /// Sequence number of the next byte to deliver; nil until the first SYN or segment.
    private var nextSequence: UInt32?
    /// Stream offset of the next byte to deliver.
    public private(set) var delivered = 0
    private var pending: [(offset: Int, bytes: [UInt8])] = []
    public private(set) var pendingBytes = 0
    private var history: [UInt8] = []

    public init(maxPendingBytes: Int = TCPStreamReassembler.defaultMaxPendingBytes) {
        self.maxPendingBytes = maxPendingBytes
    }

    /// Whether the stream's start is known (a SYN or a first segment was seen).
    public var isStarted: Bool { nextSequence != nil }

    /// A SYN: data starts one past its sequence number.
    public mutating func syn(_ sequence: UInt32) {
        if nextSequence == nil { nextSequence = sequence &+ 1 }
    }

    /// Stream offset of a sequence number (wrap-around safe within ±2 GiB of the delivery point).
    public func offset(of sequence: UInt32) -> Int? {
        nextSequence.map { delivered + Int(Int32(bitPattern: sequence &- $0)) }
    }

    public mutating func segment(_ sequence: UInt32, _ payload: [UInt8]) -> [Event] {
        guard !payload.isEmpty else { return [] }
        if nextSequence == nil { nextSequence = sequence }
        var events: [Event] = []
        var start = offset(of: sequence)!
        // A keep-alive probe (RFC 1122 §4.2.3.6): one byte of garbage at the last delivered byte, as
        // idle clients send; it is no retransmission, so a different byte is no conflict.
        if payload.count == 1 && start == delivered - 1 { return [] }
        var bytes = payload[...]
        if start < delivered {
            let overlap = min(delivered - start, bytes.count)
            compareWithHistory(bytes.prefix(overlap), at: start, &events)
            bytes = bytes.dropFirst(overlap)
            start += overlap
            guard !bytes.isEmpty else { return events }
        }
        if start == delivered {
            deliver(Array(bytes), &events)
            drain(&events)
        } else {
            insertPending(start, bytes, &events)
            while pendingBytes > maxPendingBytes, let first = pending.first {
                skipTo(first.offset, &events)
                drain(&events)
            }
        }
        return events
    }

    /// End of capture: anything still waiting sits behind a hole that never filled.
    public mutating func finish() -> [Event] {
        var events: [Event] = []
        while let first = pending.first {
            skipTo(first.offset, &events)
            drain(&events)
        }
        return events
    }

    private mutating func deliver(_ bytes: [UInt8], _ events: inout [Event]) {
        events.append(.data(bytes))
        delivered += bytes.count
        nextSequence = nextSequence! &+ UInt32(truncatingIfNeeded: bytes.count)
        history.append(contentsOf: bytes.suffix(Self.historySize))
        // Trim in large steps: removing from the front on every segment would be quadratic.
        if history.count > 2 * Self.historySize { history.removeFirst(history.count - Self.historySize) }
    }

    private mutating func skipTo(_ offset: Int, _ events: inout [Event]) {
        let missing = offset - delivered
        events.append(.gap(offset: delivered, missing: missing))
        delivered = offset
        nextSequence = nextSequence! &+ UInt32(truncatingIfNeeded: missing)
        history.removeAll()
    }

    private mutating func drain(_ events: inout [Event]) {
        while let first = pending.first, first.offset <= delivered {
            pending.removeFirst()
            pendingBytes -= first.bytes.count
            let overlap = delivered - first.offset
            if overlap >= first.bytes.count {
                compareWithHistory(first.bytes[...], at: first.offset, &events)
                continue
            }
            compareWithHistory(first.bytes.prefix(overlap), at: first.offset, &events)
            deliver(Array(first.bytes[overlap...]), &events)
        }
    }

    /// Keeps the parts of a segment that no waiting segment covers yet (first copy wins).
    private mutating func insertPending(_ start: Int, _ bytes: ArraySlice<UInt8>, _ events: inout [Event]) {
        var pieces: [(Int, ArraySlice<UInt8>)] = [(start, bytes)]
        for existing in pending {
            let eStart = existing.offset, eEnd = existing.offset + existing.bytes.count
            var remaining: [(Int, ArraySlice<UInt8>)] = []
            for (pStart, pBytes) in pieces {
                let pEnd = pStart + pBytes.count
                let lo = max(pStart, eStart), hi = min(pEnd, eEnd)
                guard lo < hi else {
                    remaining.append((pStart, pBytes))
                    continue
                }
                let mine = pBytes[(pBytes.startIndex + lo - pStart)..<(pBytes.startIndex + hi - pStart)]
                let theirs = existing.bytes[(lo - eStart)..<(hi - eStart)]
                if !mine.elementsEqual(theirs) { events.append(.conflict(offset: lo, length: hi - lo)) }
                if pStart < lo { remaining.append((pStart, pBytes.prefix(lo - pStart))) }
                if hi < pEnd { remaining.append((hi, pBytes.suffix(pEnd - hi))) }
            }
            pieces = remaining
        }
        for (pStart, pBytes) in pieces {
            let index = pending.firstIndex { $0.offset > pStart } ?? pending.count
            pending.insert((pStart, Array(pBytes)), at: index)
            pendingBytes += pBytes.count
        }
    }

    private func compareWithHistory(_ bytes: ArraySlice<UInt8>, at start: Int, _ events: inout [Event]) {
        let historyStart = delivered - history.count
        let lo = max(start, historyStart), hi = min(start + bytes.count, delivered)
        guard lo < hi else { return }
        let mine = bytes[(bytes.startIndex + lo - start)..<(bytes.startIndex + hi - start)]
        let first = history[(lo - historyStart)..<(hi - historyStart)]
        if !mine.elementsEqual(first) { events.append(.conflict(offset: lo, length: hi - lo)) }
    }
}

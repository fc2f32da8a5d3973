import Foundation

/// A JSON reader made for inspection rather than decoding.
///
/// It keeps what a checker needs and ordinary parsers throw away: member order, byte offsets,
/// every duplicate key (with its pointer), integers exactly as written (flagging those past
/// ±(2^53−1)). It refuses invalid UTF-8, lone surrogates and trailing bytes, and it nests with an
/// explicit stack, so a hostile document can hit the depth limit but never the machine's stack.
///
/// The reader is reused from message to message: `parse` clears the tape and keeps its capacity.
public struct JSONReader: Sendable {
    public static let defaultMaxDepth = 512

    public var maxDepth: Int
    /// Whether `parse` looks for duplicate keys; off for documents whose reader takes the first of
    /// each member and reports none (a capture's record lines).
    public var findsDuplicateKeys = true
    /// The parsed document, root first (valid after a successful `parse`).
    public private(set) var nodes: [JSONNode] = []
    /// Duplicate keys and unsafe integers found by the last `parse`.
    public private(set) var issues: [JSONIssue] = []
    /// The tape index of the string `parse(_:decoding:into:)` decoded as it read it, or -1.
    public private(set) var decodedNode = -1
    /// Where each quote of that string's decoding is, when its only escapes were `\"` (nil
    /// otherwise): such a decoding has no backslash and no control character, and is valid UTF-8,
    /// so a document it holds (a capture's message) can be read with `parse(_:quotes:)`, which
    /// takes each of its strings to end at the next quote instead of scanning it again.
    public var decodedQuotes: [Int32]? { decodedQuotesComplete ? quotes : nil }
    private var quotes: [Int32] = []
    private var decodedQuotesComplete = false
    private var frames: [Frame] = []
    private var scratchA: [UInt8] = []
    private var scratchB: [UInt8] = []

    private struct Frame {
        var node: Int32
        var count: Int32 = 0
        var lastKey: Int32 = -1
        var isObject: Bool
    }

    private enum State { case value, key, afterValue }

    public init(maxDepth: Int = JSONReader.defaultMaxDepth) {
        self.maxDepth = maxDepth
    }

    /// Parses one complete document. Returns nil on success, the first error otherwise.
    public mutating func parse(_ p: UnsafeRawBufferPointer) -> JSONSyntaxError? {
        var unused: [UInt8] = []
        return parse(p, decoding: nil, into: &unused, quotes: nil)
    }

    /// Parses a document whose quotes are all at `quotes`, in order, and which has no backslash,
    /// no control character and no invalid UTF-8 (what `decodedQuotes` gives): every string runs
    /// from its quote to the next one. The result is that of `parse(_:)`.
    public mutating func parse(_ p: UnsafeRawBufferPointer, quotes: UnsafeBufferPointer<Int32>) -> JSONSyntaxError? {
        var unused: [UInt8] = []
        return parse(p, decoding: nil, into: &unused, quotes: quotes)
    }

    /// Parses one complete document and appends to `decoded` the contents of the string that is the
    /// value of the root object's first member named `member`, in the same scan that validates it
    /// (`decodedNode` says which, if any). A capture record holds its message as such a string: this
    /// way its bytes are read once, not validated and then decoded.
    public mutating func parse(_ p: UnsafeRawBufferPointer, decoding member: StaticString?, into decoded: inout [UInt8]) -> JSONSyntaxError? {
        parse(p, decoding: member, into: &decoded, quotes: nil)
    }

    /// The three parses in one: `known`, the quotes of a document `parse(_:quotes:)` reads.
    private mutating func parse(
        _ p: UnsafeRawBufferPointer, decoding member: StaticString?, into decoded: inout [UInt8], quotes known: UnsafeBufferPointer<Int32>?
    ) -> JSONSyntaxError? {
        nodes.removeAll(keepingCapacity: true)
        // Nearly always empty already (no issue found; every container closed): emptying an empty
        // array is still a call and a check for sharing.
        if !issues.isEmpty { issues.removeAll(keepingCapacity: true) }
        if !frames.isEmpty { frames.removeAll(keepingCapacity: true) }
        guard p.count < Int(Int32.max) else {
            return JSONSyntaxError(kind: .size, offset: 0, message: "document of \(p.count) bytes is too large")
        }
        let n = p.count
        var i = 0
        var state = State.value
        decodedNode = -1
        decodedQuotesComplete = false
        var knownQuote = known == nil ? Int.max : 0
        var decodeNext = false
        var decodeWanted = member != nil

        // Static helpers taking the cursor explicitly: a nested function capturing `i` would box it
        // and put a dynamic exclusivity check on every access in this loop.
        func fail(_ message: String, _ at: Int) -> JSONSyntaxError {
            JSONSyntaxError(kind: .syntax, offset: at, message: message)
        }

        while true {
            switch state {
            case .value:
                Self.skipSpace(p, &i)
                guard i < n else {
                    return fail(nodes.isEmpty ? "empty document" : "unexpected end of document, expected a value", i)
                }
                let b = p[i]
                let decodeThis = decodeNext
                decodeNext = false
                switch b {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    let isObject = b == UInt8(ascii: "{")
                    guard frames.count < maxDepth else {
                        return JSONSyntaxError(
                            kind: .depth, offset: i, message: "nesting deeper than \(maxDepth) levels")
                    }
                    frames.append(Frame(node: Int32(nodes.count), isObject: isObject))
                    nodes.append(JSONNode(
                        kind: isObject ? .object : .array, flags: 0, start: Int32(i), end: 0, next: 0, count: 0))
                    i += 1
                    Self.skipSpace(p, &i)
                    if i < n && p[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                        closeContainer(p, at: i)
                        i += 1
                        state = .afterValue
                    } else if isObject {
                        state = .key
                    } else {
                        frames[frames.count - 1].count += 1
                    }
                case UInt8(ascii: "\""):
                    if decodeThis {
                        decodedNode = nodes.count
                        decodeWanted = false
                        if let error = parseString(p, &i, decodingInto: &decoded) { return error }
                    } else if let known, knownString(known, &knownQuote, &i) {
                    } else if let error = parseString(p, &i) {
                        return error
                    }
                    state = .afterValue
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if let error = parseNumber(p, &i) { return error }
                    state = .afterValue
                case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                    let (word, kind): (StaticString, JSONKind) =
                        b == UInt8(ascii: "t") ? ("true", .true) : b == UInt8(ascii: "f") ? ("false", .false) : ("null", .null)
                    let len = word.utf8CodeUnitCount
                    guard i + len <= n, ByteCompare.equal(p.baseAddress! + i, word.utf8Start, count: len) else {
                        return fail("invalid literal, expected \(word)", i)
                    }
                    nodes.append(JSONNode(
                        kind: kind, flags: 0, start: Int32(i), end: Int32(i + len), next: Int32(nodes.count + 1), count: 0))
                    i += len
                    state = .afterValue
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    return fail("unexpected \(Self.describe(b)) after ',' (trailing comma)", i)
                default:
                    return Self.unexpected(p, i, "a value")
                }

            case .key:
                Self.skipSpace(p, &i)
                guard i < n, p[i] == UInt8(ascii: "\"") else {
                    if i < n && p[i] == UInt8(ascii: "}") { return fail("unexpected '}' after ',' (trailing comma)", i) }
                    return Self.unexpected(p, i, "a member name in double quotes")
                }
                let keyIndex = Int32(nodes.count)
                if let known, knownString(known, &knownQuote, &i) {
                } else if let error = parseString(p, &i) {
                    return error
                }
                decodeNext = decodeWanted && frames.count == 1 && Self.keyIs(p, nodes[Int(keyIndex)], member!)
                frames[frames.count - 1].count += 1
                frames[frames.count - 1].lastKey = keyIndex
                Self.skipSpace(p, &i)
                guard i < n, p[i] == UInt8(ascii: ":") else { return Self.unexpected(p, i, "':' after a member name") }
                i += 1
                state = .value

            case .afterValue:
                Self.skipSpace(p, &i)
                guard let top = frames.last else {
                    guard i == n else { return fail("unexpected \(Self.describe(p[i])) after the document", i) }
                    return nil
                }
                guard i < n else { return Self.unexpected(p, i, top.isObject ? "',' or '}'" : "',' or ']'") }
                let b = p[i]
                if b == UInt8(ascii: ",") {
                    i += 1
                    if top.isObject {
                        state = .key
                    } else {
                        frames[frames.count - 1].count += 1
                        state = .value
                    }
                } else if b == (top.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    closeContainer(p, at: i)
                    i += 1
                } else {
                    return Self.unexpected(p, i, top.isObject ? "',' or '}'" : "',' or ']'")
                }
            }
        }
    }

    @inline(__always)
    private static func skipSpace(_ p: UnsafeRawBufferPointer, _ i: inout Int) {
        let n = p.count
        while i < n {
            let b = p[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            i += 1
        }
    }

    private static func unexpected(_ p: UnsafeRawBufferPointer, _ i: Int, _ expected: String) -> JSONSyntaxError {
        guard i < p.count else {
            return JSONSyntaxError(kind: .syntax, offset: i, message: "unexpected end of document, expected \(expected)")
        }
        return JSONSyntaxError(kind: .syntax, offset: i, message: "unexpected \(describe(p[i])), expected \(expected)")
    }

    private mutating func closeContainer(_ p: UnsafeRawBufferPointer, at i: Int) {
        let frame = frames[frames.count - 1]
        let index = Int(frame.node)
        nodes[index].end = Int32(i + 1)
        nodes[index].next = Int32(nodes.count)
        nodes[index].count = frame.count
        if frame.isObject && frame.count > 1 && findsDuplicateKeys { findDuplicateKeys(p, object: index, count: Int(frame.count)) }
        frames.removeLast()
    }

    // MARK: Strings

    /// Takes the string whose quote is at `i` to end at the next known quote, if the quote at the
    /// cursor is that one (and there is a next); the caller scans it otherwise.
    @inline(__always)
    private mutating func knownString(_ quotes: UnsafeBufferPointer<Int32>, _ cursor: inout Int, _ i: inout Int) -> Bool {
        guard cursor + 1 < quotes.count, Int(quotes[cursor]) == i else { return false }
        let end = Int(quotes[cursor + 1]) + 1
        nodes.append(JSONNode(kind: .string, flags: 0, start: Int32(i), end: Int32(end), next: Int32(nodes.count + 1), count: 0))
        cursor += 2
        i = end
        return true
    }

    private mutating func parseString(_ p: UnsafeRawBufferPointer, _ i: inout Int) -> JSONSyntaxError? {
        var skip = SkippedString()
        return parseString(p, &i, &skip)
    }

    /// `parseString` that also appends the decoded contents to `out`.
    private mutating func parseString(_ p: UnsafeRawBufferPointer, _ i: inout Int, decodingInto out: inout [UInt8]) -> JSONSyntaxError? {
        let start = i
        var flags: UInt8 = 0
        if let error = decodeString(p, &i, into: &out, flags: &flags) { return error }
        nodes.append(JSONNode(
            kind: .string, flags: flags, start: Int32(start), end: Int32(i), next: Int32(nodes.count + 1), count: 0))
        return nil
    }

    /// Validates the string literal whose quote is at `i` and appends its decoded contents to `out`,
    /// moving `i` past its closing quote; `decodedQuotes` then says where the decoding's quotes are.
    /// For a caller that knows the layout around the string and needs no tape. The room reserved is
    /// the rest of the document, never less than what is left to write.
    mutating func decodeString(_ p: UnsafeRawBufferPointer, _ i: inout Int, into out: inout [UInt8], flags: inout UInt8) -> JSONSyntaxError? {
        var failure: JSONSyntaxError?
        var onlyQuotesEscaped = false
        quotes.removeAll(keepingCapacity: true)
        // An escaped quote takes two bytes: room for every one the rest of the document can hold.
        quotes.append(addingCapacity: (p.count - i) / 2) { quoteRoom in
            quoteRoom.withUnsafeMutableBufferPointer { quoteBuffer, quoteCount in
                out.append(addingCapacity: p.count - i) { room in
                    room.withUnsafeMutableBufferPointer { buffer, written in
                        var sink = DecodedString(out: buffer.baseAddress!, quotes: quoteBuffer.baseAddress!)
                        switch Self.scanString(p, from: i, &sink, &flags) {
                        case .success(let end): i = end
                        case .failure(let error): failure = error
                        }
                        written = sink.count
                        quoteCount = sink.quoteCount
                        onlyQuotesEscaped = sink.onlyQuotesEscaped
                    }
                }
            }
        }
        decodedQuotesComplete = onlyQuotesEscaped
        return failure
    }

    private mutating func parseString<Sink: StringSink>(_ p: UnsafeRawBufferPointer, _ i: inout Int, _ sink: inout Sink) -> JSONSyntaxError? {
        let start = i
        var flags: UInt8 = 0
        switch Self.scanString(p, from: start, &sink, &flags) {
        case .success(let end): i = end
        case .failure(let error): return error
        }
        nodes.append(JSONNode(
            kind: .string, flags: flags, start: Int32(start), end: Int32(i), next: Int32(nodes.count + 1), count: 0))
        return nil
    }

    /// Scans the string literal whose quote is at `start`, validating it, and gives its contents to
    /// `sink`; returns the offset past the closing quote.
    @inline(__always)
    private static func scanString<Sink: StringSink>(
        _ p: UnsafeRawBufferPointer, from start: Int, _ sink: inout Sink, _ flags: inout UInt8
    ) -> Result<Int, JSONSyntaxError> {
        let n = p.count
        let base = p.baseAddress!
        var i = start + 1
        while true {
            // Eight bytes at a time while none is a quote, a backslash, a control byte or non-ASCII,
            // then straight to the first that is; bytes one by one only in the last seven.
            let b: UInt8
            if i + 8 <= n {
                let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                sink.write(word)
                let special = specialBytes(UInt64(littleEndian: word))
                if special == 0 {
                    i += 8
                    sink.advance(8)
                    continue
                }
                let plain = special.trailingZeroBitCount >> 3
                i += plain
                sink.advance(plain)
                b = p[i]
            } else {
                guard i < n else {
                    return .failure(JSONSyntaxError(kind: .syntax, offset: start, message: "unterminated string"))
                }
                b = p[i]
                if b >= 0x20, b < 0x80, b != UInt8(ascii: "\""), b != UInt8(ascii: "\\") {
                    sink.append(b)
                    i += 1
                    continue
                }
            }
            if b == UInt8(ascii: "\"") { return .success(i + 1) }
            if b == UInt8(ascii: "\\") {
                flags |= JSONNode.hasEscapes
                // Escaped JSON inside JSON (a capture's "text") is mostly \" and \\: keep those out of the call.
                if i + 1 < n, p[i + 1] == UInt8(ascii: "\"") || p[i + 1] == UInt8(ascii: "\\") {
                    sink.unescape(p[i + 1])
                    i += 2
                } else {
                    let escape = i
                    if let error = skipEscape(p, &i) { return .failure(error) }
                    sink.decode(p, from: escape, to: i)
                }
            } else if b < 0x20 {
                return .failure(JSONSyntaxError(
                    kind: .syntax, offset: i, message: "control character \(describe(b)) in a string must be escaped"))
            } else if let len = UTF8Scan.sequenceLength(p, at: i, end: n) {
                sink.copy(base + i, count: len)
                i += len
            } else {
                return .failure(JSONSyntaxError(kind: .syntax, offset: i, message: "invalid UTF-8 byte 0x\(hex(b))"))
            }
        }
    }

    /// Whether a key is `name` as written (a key with escapes is not taken: the caller decodes later).
    @inline(__always)
    private static func keyIs(_ p: UnsafeRawBufferPointer, _ key: JSONNode, _ name: StaticString) -> Bool {
        !key.hasEscapes && JSONView.plainStringEquals(p, key, name)
    }

    /// The high bit of every byte of `w` (read little-endian) that is `"`, `\\`, below 0x20 or above
    /// 0x7F, by the classic has-zero-byte trick: a borrow can flag a byte above a flagged one but
    /// never below, so the lowest bit set is the first special byte.
    @inline(__always)
    static func specialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5C)
        let control = (w &- ones &* 0x20) & ~w
        let q = (quote &- ones) & ~quote
        let b = (backslash &- ones) & ~backslash
        return (w | control | q | b) & highs
    }

    /// The offset of the quote that ends a string whose contents start at `start`, when they are
    /// printable ASCII with no escape (nil for any other string, or none): a string that needs no
    /// decoding or validation, found a word at a time.
    @inline(__always)
    static func plainStringEnd(_ p: UnsafeRawBufferPointer, from start: Int) -> Int? {
        let n = p.count
        var i = start
        while i + 8 <= n {
            let special = specialBytes(UInt64(littleEndian: p.baseAddress!.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            if special != 0 {
                i += special.trailingZeroBitCount >> 3
                return p[i] == UInt8(ascii: "\"") ? i : nil
            }
            i += 8
        }
        while i < n {
            let b = p[i]
            if b == UInt8(ascii: "\"") { return i }
            guard b >= 0x20, b < 0x80, b != UInt8(ascii: "\\") else { return nil }
            i += 1
        }
        return nil
    }

    private static func skipEscape(_ p: UnsafeRawBufferPointer, _ i: inout Int) -> JSONSyntaxError? {
        let n = p.count
        let at = i
        guard i + 1 < n else { return JSONSyntaxError(kind: .syntax, offset: at, message: "unterminated escape") }
        switch p[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            i += 2
            return nil
        case UInt8(ascii: "u"):
            guard let unit = hexUnit(p, i + 2) else {
                return JSONSyntaxError(kind: .syntax, offset: at, message: "\\u must be followed by four hex digits")
            }
            if unit >= 0xDC00 && unit < 0xE000 {
                return JSONSyntaxError(kind: .syntax, offset: at, message: "lone low surrogate \\u\(hex(unit))")
            }
            if unit >= 0xD800 && unit < 0xDC00 {
                guard i + 7 < n, p[i + 6] == UInt8(ascii: "\\"), p[i + 7] == UInt8(ascii: "u"),
                    let low = hexUnit(p, i + 8), low >= 0xDC00 && low < 0xE000
                else {
                    return JSONSyntaxError(kind: .syntax, offset: at, message: "lone high surrogate \\u\(hex(unit))")
                }
                i += 12
            } else {
                i += 6
            }
            return nil
        default:
            return JSONSyntaxError(kind: .syntax, offset: at, message: "invalid escape \\\(describeChar(p[i + 1]))")
        }
    }

    private static func hexUnit(_ p: UnsafeRawBufferPointer, _ i: Int) -> UInt32? {
        guard i + 4 <= p.count else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 {
            guard let d = JSONString.hexValue(p[i + k]) else { return nil }
            v = v << 4 | d
        }
        return v
    }

    // MARK: Numbers

    private static let maxSafeInteger: [UInt8] = Array("9007199254740991".utf8)

    private mutating func parseNumber(_ p: UnsafeRawBufferPointer, _ i: inout Int) -> JSONSyntaxError? {
        let n = p.count
        let start = i
        @inline(__always) func isDigit(_ k: Int) -> Bool { k < n && p[k] &- UInt8(ascii: "0") < 10 }
        if p[i] == UInt8(ascii: "-") { i += 1 }
        let digitsStart = i
        guard isDigit(i) else {
            return JSONSyntaxError(kind: .syntax, offset: i, message: "expected a digit after '-'")
        }
        if p[i] == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) {
                return JSONSyntaxError(kind: .syntax, offset: start, message: "number with a leading zero")
            }
        } else {
            while isDigit(i) { i += 1 }
        }
        let digitCount = i - digitsStart
        var flags = JSONNode.isInteger
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else {
                return JSONSyntaxError(kind: .syntax, offset: i, message: "expected a digit after '.'")
            }
            while isDigit(i) { i += 1 }
            flags = 0
        }
        if i < n && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            i += 1
            if i < n && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
            guard isDigit(i) else {
                return JSONSyntaxError(kind: .syntax, offset: i, message: "expected a digit in the exponent")
            }
            while isDigit(i) { i += 1 }
            flags = 0
        }
        nodes.append(JSONNode(
            kind: .number, flags: flags, start: Int32(start), end: Int32(i), next: Int32(nodes.count + 1), count: 0))
        if flags != 0 && digitCount >= 16 {
            let unsafe = digitCount > 16
                || Self.maxSafeInteger.withUnsafeBytes { memcmp(p.baseAddress! + digitsStart, $0.baseAddress!, 16) > 0 }
            if unsafe {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
                issues.append(JSONIssue(
                    kind: .unsafeInteger, pointer: pointerToCurrentValue(p), offset: start,
                    message: "integer \(Self.abbreviate(text)) is outside ±(2^53−1) and loses precision as a double"))
            }
        }
        return nil
    }

    // MARK: Duplicate keys

    private mutating func findDuplicateKeys(_ p: UnsafeRawBufferPointer, object: Int, count: Int) {
        var repeated: [Int] = []
        if count <= 16 {
            // Pairwise, no allocation unless a duplicate is found. Keys are told apart first by their
            // length and first and last bytes, held on the stack, so that most pairs cost no call
            // and no look at the tape; a key with escapes is compared in full with every other.
            withUnsafeTemporaryAllocation(of: (key: Int, mark: UInt64).self, capacity: count) { keys in
                var key = object + 1
                for k in 0..<count {
                    let node = nodes[key]
                    let start = Int(node.start) + 1, end = Int(node.end) - 1
                    let mark: UInt64 = node.hasEscapes ? 0
                        : end > start ? UInt64(end - start) | UInt64(p[start]) << 32 | UInt64(p[end - 1]) << 40 : 1 << 48
                    keys[k] = (key, mark)
                    key = Int(nodes[key + 1].next)
                }
                for b in 1..<count {
                    for a in 0..<b where keys[a].mark == keys[b].mark || keys[a].mark == 0 || keys[b].mark == 0 {
                        if keyEquals(p, keys[a].key, keys[b].key) {
                            repeated.append(keys[b].key)
                            break
                        }
                    }
                }
            }
        } else {
            var seen = Set<[UInt8]>(minimumCapacity: count)
            var key = object + 1
            for _ in 0..<count {
                if !seen.insert(decodedKey(p, key)).inserted { repeated.append(key) }
                key = Int(nodes[key + 1].next)
            }
        }
        guard !repeated.isEmpty else { return }
        let parent = pointer(p, depth: frames.count - 1)
        for key in repeated {
            let name = String(decoding: decodedKey(p, key), as: UTF8.self)
            issues.append(JSONIssue(
                kind: .duplicateKey, pointer: JSONPointer.appending(parent, name), offset: Int(nodes[key].start),
                message: "member \(JSONString.quoted(Self.abbreviate(name))) appears more than once; parsers disagree on which copy wins"))
        }
    }

    private mutating func keyEquals(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> Bool {
        let na = nodes[a], nb = nodes[b]
        if !na.hasEscapes && !nb.hasEscapes {
            let len = Int(na.end - na.start)
            return len == Int(nb.end - nb.start)
                && ByteCompare.equal(p.baseAddress! + Int(na.start), p.baseAddress! + Int(nb.start), count: len)
        }
        scratchA.removeAll(keepingCapacity: true)
        scratchB.removeAll(keepingCapacity: true)
        JSONString.decode(p, from: Int(na.start) + 1, to: Int(na.end) - 1, into: &scratchA)
        JSONString.decode(p, from: Int(nb.start) + 1, to: Int(nb.end) - 1, into: &scratchB)
        return scratchA == scratchB
    }

    private func decodedKey(_ p: UnsafeRawBufferPointer, _ key: Int) -> [UInt8] {
        var out: [UInt8] = []
        JSONString.decode(p, from: Int(nodes[key].start) + 1, to: Int(nodes[key].end) - 1, into: &out)
        return out
    }

    // MARK: Pointers (built only when an issue is found)

    /// The pointer of the container at `depth` in the frame stack (0 = root, "").
    private func pointer(_ p: UnsafeRawBufferPointer, depth: Int) -> String {
        var result = ""
        for level in 0..<depth {
            let frame = frames[level]
            if frame.isObject {
                result = JSONPointer.appending(result, String(decoding: decodedKey(p, Int(frame.lastKey)), as: UTF8.self))
            } else {
                result = JSONPointer.appending(result, Int(frame.count) - 1)
            }
        }
        return result
    }

    private func pointerToCurrentValue(_ p: UnsafeRawBufferPointer) -> String {
        pointer(p, depth: frames.count)
    }

    // MARK: Messages

    static func abbreviate(_ s: String, limit: Int = 60) -> String {
        s.count <= limit ? s : String(s.prefix(limit)) + "…"
    }

    static func hex<T: BinaryInteger>(_ v: T) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, (v > 0xFF ? 4 : 2) - s.count)) + s
    }

    static func describeChar(_ b: UInt8) -> String {
        b >= 0x21 && b < 0x7F ? String(UnicodeScalar(b)) : "0x" + hex(b)
    }

    static func describe(_ b: UInt8) -> String {
        b >= 0x21 && b < 0x7F ? "'\(String(UnicodeScalar(b)))'" : "byte 0x\(hex(b))"
    }
}

/// What a string scan does with the contents it reads: `scanString` is specialized for each, so
/// that a scan that keeps nothing pays for nothing.
private protocol StringSink {
    /// Stores a word at the write position without moving it (the scan moves it past the plain bytes).
    mutating func write(_ word: UInt64)
    mutating func advance(_ count: Int)
    mutating func append(_ byte: UInt8)
    mutating func copy(_ bytes: UnsafeRawPointer, count: Int)
    /// Writes the byte that `\"` or `\\` stands for.
    mutating func unescape(_ byte: UInt8)
    /// Writes the decoding of the (valid) escape at `start..<end`.
    mutating func decode(_ p: UnsafeRawBufferPointer, from start: Int, to end: Int)
}

private struct SkippedString: StringSink {
    @inline(__always) func write(_ word: UInt64) {}
    @inline(__always) func advance(_ count: Int) {}
    @inline(__always) func append(_ byte: UInt8) {}
    @inline(__always) func copy(_ bytes: UnsafeRawPointer, count: Int) {}
    @inline(__always) func unescape(_ byte: UInt8) {}
    @inline(__always) func decode(_ p: UnsafeRawBufferPointer, from start: Int, to end: Int) {}
}

/// Writes to memory with room for at least the rest of the document: a word stored whole at the
/// write position never passes the end, since no byte decodes to more than it took to write.
private struct DecodedString: StringSink {
    let out: UnsafeMutablePointer<UInt8>
    /// Where each escaped quote lands in the output (room for one per two bytes of input).
    let quotes: UnsafeMutablePointer<Int32>
    var count = 0
    var quoteCount = 0
    /// No escape but `\"` so far: `quotes` then holds every quote of the output.
    var onlyQuotesEscaped = true

    @inline(__always) func write(_ word: UInt64) {
        UnsafeMutableRawPointer(out + count).storeBytes(of: word, as: UInt64.self)
    }
    @inline(__always) mutating func advance(_ count: Int) { self.count += count }
    @inline(__always) mutating func append(_ byte: UInt8) {
        out[count] = byte
        count += 1
    }
    @inline(__always) mutating func copy(_ bytes: UnsafeRawPointer, count: Int) {
        (out + self.count).update(from: bytes.assumingMemoryBound(to: UInt8.self), count: count)
        self.count += count
    }
    @inline(__always) mutating func unescape(_ byte: UInt8) {
        if byte == UInt8(ascii: "\"") {
            quotes[quoteCount] = Int32(truncatingIfNeeded: count)
            quoteCount += 1
        } else {
            onlyQuotesEscaped = false
        }
        append(byte)
    }
    mutating func decode(_ p: UnsafeRawBufferPointer, from start: Int, to end: Int) {
        onlyQuotesEscaped = false
        count += JSONString.decode(p, from: start, to: end, writingTo: out + count)
    }
}

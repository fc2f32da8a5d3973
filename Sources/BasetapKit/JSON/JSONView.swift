import Foundation

/// Read access to a document parsed by `JSONReader`, valid while the parsed bytes and the
/// reader's tape are (inside one `withUnsafeBytes` scope). Nodes are addressed by tape index; 0 is the root.
public struct JSONView {
    public let bytes: UnsafeRawBufferPointer
    public let nodes: UnsafeBufferPointer<JSONNode>

    public init(bytes: UnsafeRawBufferPointer, nodes: UnsafeBufferPointer<JSONNode>) {
        self.bytes = bytes
        self.nodes = nodes
    }

    public subscript(_ index: Int) -> JSONNode { nodes[index] }

    /// (key, value) tape indices of an object's members, in document order.
    public func members(_ object: Int) -> MemberSequence {
        MemberSequence(nodes: nodes, first: object + 1, count: Int(nodes[object].count))
    }

    /// Tape indices of an array's elements, in order.
    public func elements(_ array: Int) -> ElementSequence {
        ElementSequence(nodes: nodes, first: array + 1, count: Int(nodes[array].count))
    }

    /// The value of the first member named `name`, or nil.
    public func member(_ object: Int, _ name: StaticString) -> Int? {
        for (key, value) in members(object) where stringEquals(key, name) { return value }
        return nil
    }

    /// Whether the string node equals `literal` (compared after decoding escapes). In line: every
    /// key of every record and message is matched against a list of names this way.
    @inline(__always)
    public func stringEquals(_ index: Int, _ literal: StaticString) -> Bool {
        let node = nodes[index]
        if !node.hasEscapes { return Self.plainStringEquals(bytes, node, literal) }
        return stringBytes(index).withUnsafeBytes { ByteCompare.equal($0, UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)) }
    }

    /// Whether a string node without escapes, in `bytes`, equals `literal`.
    @inline(__always)
    static func plainStringEquals(_ bytes: UnsafeRawBufferPointer, _ node: JSONNode, _ literal: StaticString) -> Bool {
        let len = literal.utf8CodeUnitCount
        return Int(node.end - node.start) - 2 == len
            && ByteCompare.equal(bytes.baseAddress! + Int(node.start) + 1, literal.utf8Start, count: len)
    }

    /// Calls `body` with the decoded UTF-8 of a string node, without copying when it has no escapes.
    public func withStringBytes<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let node = nodes[index]
        if !node.hasEscapes {
            return try body(UnsafeRawBufferPointer(rebasing: bytes[Int(node.start) + 1..<Int(node.end) - 1]))
        }
        return try stringBytes(index).withUnsafeBytes(body)
    }

    /// The name of `names` a key spells, if any.
    func memberName<Name>(_ key: Int, _ names: NameTable<Name>) -> Name? {
        let node = nodes[key]
        if node.hasEscapes { return stringBytes(key).withUnsafeBytes { names.name($0, readable: $0.count) } }
        let start = Int(node.start) + 1
        return names.name(UnsafeRawBufferPointer(rebasing: bytes[start..<Int(node.end) - 1]), readable: bytes.count - start)
    }

    public func stringBytes(_ index: Int) -> [UInt8] {
        let node = nodes[index]
        var out: [UInt8] = []
        out.reserveCapacity(Int(node.end - node.start))
        JSONString.decode(bytes, from: Int(node.start) + 1, to: Int(node.end) - 1, into: &out)
        return out
    }

    public func string(_ index: Int) -> String {
        withStringBytes(index) { String(decoding: $0, as: UTF8.self) }
    }

    /// The token exactly as written (a number's digits, a literal, a quoted string, a container).
    public func rawText(_ index: Int) -> String {
        String(decoding: rawBytes(index), as: UTF8.self)
    }

    public func rawBytes(_ index: Int) -> UnsafeRawBufferPointer {
        let node = nodes[index]
        return UnsafeRawBufferPointer(rebasing: bytes[Int(node.start)..<Int(node.end)])
    }

    /// The value of an integer literal that fits in Int64.
    public func int64(_ index: Int) -> Int64? {
        guard nodes[index].kind == .number, nodes[index].isInteger else { return nil }
        return Int64(rawText(index))
    }

    public struct MemberSequence: Sequence, IteratorProtocol {
        let nodes: UnsafeBufferPointer<JSONNode>
        var first: Int
        var count: Int

        public mutating func next() -> (key: Int, value: Int)? {
            guard count > 0 else { return nil }
            count -= 1
            let key = first
            first = Int(nodes[key + 1].next)
            return (key, key + 1)
        }
    }

    public struct ElementSequence: Sequence, IteratorProtocol {
        let nodes: UnsafeBufferPointer<JSONNode>
        var first: Int
        var count: Int

        public mutating func next() -> Int? {
            guard count > 0 else { return nil }
            count -= 1
            let element = first
            first = Int(nodes[element].next)
            return element
        }
    }
}

extension JSONReader {
    /// Parses `bytes` and, on success, calls `body` with a view of the document.
    public mutating func withParsed<R>(
        _ bytes: UnsafeRawBufferPointer, _ body: (JSONView, [JSONIssue]) throws -> R
    ) rethrows -> Result<R, JSONSyntaxError> {
        if let error = parse(bytes) { return .failure(error) }
        let issues = self.issues
        return .success(try nodes.withUnsafeBufferPointer { try body(JSONView(bytes: bytes, nodes: $0), issues) })
    }
}

/// The kind of a value in a parsed JSON document.
public enum JSONKind: UInt8, Sendable {
    case object, array, string, number, `true`, `false`, null

    /// The name JSON Schema and error messages use for this kind.
    public var name: String {
        switch self {
        case .object: "object"
        case .array: "array"
        case .string: "string"
        case .number: "number"
        case .true, .false: "boolean"
        case .null: "null"
        }
    }

    /// The name with its article, as sentences use it: "an array", "a string".
    public var withArticle: String { (self == .object || self == .array ? "an " : "a ") + name }
}

/// One value of a parsed document. A document is stored flat, in document order
/// (a "tape"), so that parsing a message allocates nothing once the buffers have grown:
/// an object is followed by its members as key, value, key, value…, an array by its elements.
public struct JSONNode: Sendable {
    /// String flag: the raw text holds escapes, so it must be decoded before comparing.
    static let hasEscapes: UInt8 = 1
    /// Number flag: written without fraction or exponent.
    static let isInteger: UInt8 = 2

    public var kind: JSONKind
    var flags: UInt8
    /// Byte offset of the first byte of the token (the quote of a string, the bracket of a container).
    public var start: Int32
    /// Byte offset just past the token (past the closing quote or bracket).
    public var end: Int32
    /// Index of the node after this one's subtree: the next sibling, if there is one.
    public var next: Int32
    /// Members of an object or elements of an array.
    public var count: Int32

    public var hasEscapes: Bool { flags & Self.hasEscapes != 0 }
    public var isInteger: Bool { flags & Self.isInteger != 0 }
}

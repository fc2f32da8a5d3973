/// Something legal but risky the reader noticed while parsing: it does not stop the parse.
public struct JSONIssue: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The same key appears twice in one object; `pointer` names the repeated member.
        case duplicateKey
        /// An integer literal outside ±(2^53−1), which IEEE doubles cannot hold exactly.
        case unsafeInteger
    }

    public var kind: Kind
    public var pointer: String
    public var offset: Int
    public var message: String
}

/// Why a document could not be read. Parsing stops at the first one.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Invalid UTF-8, a grammar error, a lone surrogate, trailing bytes.
        case syntax
        /// Nesting deeper than the reader's limit: legal JSON, refused to keep memory bounded.
        case depth
        /// A document larger than the reader can address.
        case size
    }

    public var kind: Kind
    public var offset: Int
    public var message: String

    public var description: String { "at byte \(offset): \(message)" }
}

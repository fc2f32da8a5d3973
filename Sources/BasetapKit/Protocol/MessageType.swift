/// A BaseMessage's `type` as the draft's error convention reads it (PROTOCOL.md §4): `X:error`
/// answers a request of type `X`; a bare `:error` names no request type; anything else is a
/// type of its own.
public enum MessageType: Equatable, Sendable {
    case plain(String)
    /// `X:error`, with `X`.
    case error(answering: String)
    /// `:error` alone.
    case bareError

    public init(_ type: String) {
        // By bytes: the convention is about the characters a peer wrote, and `hasSuffix` would
        // compare grapheme clusters (a Prepend character before the colon would hide the suffix).
        let utf8 = type.utf8
        if utf8.count < 6 || !utf8.suffix(6).elementsEqual(":error".utf8) {
            self = .plain(type)
        } else if utf8.count == 6 {
            self = .bareError
        } else {
            self = .error(answering: String(decoding: utf8.dropLast(6), as: UTF8.self))
        }
    }

    public var isError: Bool {
        if case .plain = self { return false }
        return true
    }

    /// The request type this names or answers (nil for a bare `:error`).
    public var requested: String? {
        switch self {
        case .plain(let type), .error(answering: let type): type
        case .bareError: nil
        }
    }
}

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
        // Nearly every type is plain, and its last byte says so without a comparison of strings.
        if type.utf8.last != UInt8(ascii: "r") {
            self = .plain(type)
        } else if type == ":error" {
            self = .bareError
        } else if type.hasSuffix(":error") {
            self = .error(answering: String(type.dropLast(6)))
        } else {
            self = .plain(type)
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

import Foundation

/// RFC 6901 JSON pointers.
public enum JSONPointer {
    /// One reference token: `~` becomes `~0` and `/` becomes `~1`.
    public static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else {
            return token
        }
        return token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// `parent` extended by one member name or array index.
    public static func appending(_ parent: String, _ token: String) -> String {
        parent + "/" + escape(token)
    }

    public static func appending(_ parent: String, _ index: Int) -> String {
        parent + "/" + String(index)
    }

    /// The reference tokens of a pointer, unescaped. `""` has none.
    public static func tokens(_ pointer: String) -> [String] {
        guard !pointer.isEmpty else { return [] }
        return pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }
}

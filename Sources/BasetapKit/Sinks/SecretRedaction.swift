import Foundation

/// What the proxy's message log (`--log-messages`) hides unless `--log-secrets`: credentials in
/// headers, secret-looking query parameters and JSON members. Terminals are shared, scrolled back
/// and pasted into tickets; recordings are the user's own files and keep everything.
public enum SecretRedaction {
    public static let mask = "[redacted]"

    static let headerNames: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token", "x-csrf-token",
    ]

    /// Names of query parameters and JSON members whose values are hidden, matched as substrings.
    static let secretWords = ["password", "passwd", "secret", "token", "apikey", "api_key", "api-key", "authorization", "credential", "cookie", "signature"]

    static func isSecret(_ name: String) -> Bool {
        let lower = name.lowercased()
        return secretWords.contains { lower.contains($0) }
    }

    public static func header(_ name: String, _ value: String) -> String {
        headerNames.contains(name.lowercased()) ? mask : value
    }

    /// A request target with the values of secret-looking query parameters hidden.
    public static func target(_ target: String) -> String {
        guard let question = target.firstIndex(of: "?") else { return target }
        let query = target[target.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "="), isSecret(String(pair[..<equals])) else { return String(pair) }
            return String(pair[...equals]) + mask
        }
        return String(target[...question]) + query.joined(separator: "&")
    }

    /// A member name, then its value when that is a string.
    private static let member = try! NSRegularExpression(pattern: #""([^"\\]{1,64})"\s*:\s*("(?:[^"\\]|\\.)*")"#)

    /// JSON text with the string values of secret-looking members hidden; the rest is left as it is.
    public static func json(_ text: String) -> String {
        var result = ""
        var last = text.startIndex
        for match in member.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let name = Range(match.range(at: 1), in: text), let value = Range(match.range(at: 2), in: text),
                isSecret(String(text[name])) else { continue }
            result += text[last..<value.lowerBound] + "\"" + mask + "\""
            last = value.upperBound
        }
        return result + text[last...]
    }
}

import Foundation

/// How the body after an HTTP/1.1 head ends (RFC 9112 §6.3): what lets a reader of a keep-alive
/// connection find the next request or response after it.
public enum HTTPBodyFraming: Sendable, Equatable {
    case none
    case length(Int)
    case chunked
    /// The body runs to the end of the connection: nothing after it can be read as HTTP.
    case untilClose
    /// Framing that no reader can trust (conflicting or unreadable lengths).
    case malformed(String)

    public static func request(_ head: HTTPHead) -> HTTPBodyFraming {
        if let coding = transferCoding(head) {
            return coding == "chunked" ? .chunked : .malformed("a request body with the transfer coding \"\(coding)\" last")
        }
        return contentLength(head) ?? .none
    }

    /// The framing of a response to a request with `method`.
    public static func response(_ head: HTTPHead, method: String) -> HTTPBodyFraming {
        guard let status = head.status else { return .malformed("no status code") }
        if method == "HEAD" || (100..<200).contains(status) || status == 204 || status == 304 { return .none }
        if method == "CONNECT" && (200..<300).contains(status) { return .untilClose }  // a tunnel from here
        if let coding = transferCoding(head) { return coding == "chunked" ? .chunked : .untilClose }
        return contentLength(head) ?? .untilClose
    }

    private static func transferCoding(_ head: HTTPHead) -> String? {
        let codings = head.headers.filter { $0.name.caseInsensitiveCompare("Transfer-Encoding") == .orderedSame }
            .flatMap { $0.value.split(separator: ",") }
        guard let last = codings.last else { return nil }
        return last.trimmingCharacters(in: .whitespaces).lowercased()
    }

    private static func contentLength(_ head: HTTPHead) -> HTTPBodyFraming? {
        let values = Set(head.headers.filter { $0.name.caseInsensitiveCompare("Content-Length") == .orderedSame }
            .flatMap { $0.value.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingCharacters(in: .whitespaces) })
        guard let value = values.first else { return nil }
        guard values.count == 1, !value.isEmpty, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let length = Int(value) else {
            return .malformed("Content-Length \"\(values.sorted().joined(separator: ", "))\"")
        }
        return length == 0 ? HTTPBodyFraming.none : .length(length)
    }
}

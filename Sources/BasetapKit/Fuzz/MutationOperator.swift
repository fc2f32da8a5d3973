/// A named way to break a client message or a session. The name goes into the `mutation` field of
/// every record it changed and into the name of every finding it led to.
public struct MutationOperator: Sendable {
    public enum Family: String, Sendable, CaseIterable {
        case id, envelope, value, json, frame, session, schema, handshake, churn

        /// Families that need a live server: `basetap mutate` writes the others.
        public var isLiveOnly: Bool { self == .handshake || self == .churn }
    }

    /// What an operator works on.
    enum Work: Sendable {
        /// The parsed message; it may leave duplicate keys or splice raw JSON text (see `RawJSON`).
        case value(@Sendable (inout JSONValue, inout MutationContext) -> Bool)
        /// The message's bytes, for what no JSON value can hold.
        case bytes(@Sendable (inout [UInt8], inout FuzzRandom) -> Bool)
        /// The message's frames on the wire.
        case frames(@Sendable ([UInt8], inout FuzzRandom) -> [UInt8])
        /// The order and number of steps; `target` is the step picked.
        case session(@Sendable (inout [ReplayConnection.Step], Int, inout FuzzRandom) -> Bool)
        /// The upgrade request's head as lines, the request line first.
        case handshake(@Sendable (inout [String], inout FuzzRandom) -> Bool)
        /// Connections made from the seed's, run together before the case's own.
        case churn(@Sendable (ReplayConnection, inout FuzzRandom) -> [ReplayConnection])
    }

    public let name: String
    public let family: Family
    let work: Work

    init(_ name: String, _ family: Family, _ work: Work) {
        self.name = name
        self.family = family
        self.work = work
    }
}

/// What a value operator may use besides the message: the random source and the profile.
struct MutationContext {
    var random: FuzzRandom
    var profile: Profile?
    /// JSON text to splice where the value holds `RawJSON.marker`.
    var raw: String?
}

/// Raw JSON text spliced into a serialized value, for what `JSONValue` cannot hold (lone
/// surrogate escapes, deep nesting built as text). The value carries a unique placeholder string.
enum RawJSON {
    static let marker = "\u{1}basetap-raw\u{1}"

    /// Serializes `value`, replacing the placeholder string with `raw`.
    static func serialize(_ value: JSONValue, raw: String?) -> [UInt8] {
        let bytes = value.serialized()
        guard let raw else { return bytes }
        var quoted: [UInt8] = []
        JSONString.encode(marker, into: &quoted)
        guard let range = bytes.firstRange(of: quoted) else { return bytes }
        return Array(bytes[..<range.lowerBound]) + Array(raw.utf8) + Array(bytes[range.upperBound...])
    }
}

/// `count` copies of an ASCII character, built as bytes: `String(repeating:count:)` appends one
/// copy at a time, and megabyte values made that way cost more than the rest of a case.
func filler(_ character: Unicode.Scalar, _ count: Int) -> String {
    String(decoding: [UInt8](repeating: UInt8(character.value), count: count), as: UTF8.self)
}

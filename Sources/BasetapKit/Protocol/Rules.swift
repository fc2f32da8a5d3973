/// Every rule basetap checks, each defined once. The README's rules table is printed from
/// `Rule.all` (`basetap rules --format markdown`) and a test keeps the two equal.
extension Rule {
    // §1 Transport
    public static let frameBinaryJSON = Rule(
        "frame.binary-json", .warning, section: "1", "A binary message holds a JSON document (it is still checked).")
    public static let frameBinary = Rule(
        "frame.binary", .warning, section: "1", "A binary message that is not JSON (not checked further).")

    // §2 Envelope and JSON
    public static let jsonSyntax = Rule(
        "json.syntax", .error, section: "2", "The message is not valid UTF-8 or not JSON (lone surrogates, trailing bytes included).")
    public static let jsonDepth = Rule(
        "json.depth", .error, section: "2", "The document nests deeper than the limit (`--max-depth`, default 512).")
    public static let jsonDuplicateKey = Rule(
        "json.duplicate-key", .error, section: "2", "The same key twice in one object, at any depth.")
    public static let jsonUnsafeInteger = Rule(
        "json.unsafe-integer", .warning, section: "2", "An integer outside ±(2^53−1), which a double cannot hold exactly.")
    public static let envelopeNotObject = Rule(
        "envelope.not-object", .error, section: "2", "The message is a JSON value other than an object.")
    public static let envelopeMissing = Rule(
        "envelope.missing", .error, section: "2", "A required member (`id`, `type`, `from`, `to`, `payload`) is missing.")
    public static let envelopeType = Rule(
        "envelope.type", .error, section: "2", "A member has the wrong JSON type (`null` is never accepted).")
    public static let envelopeEmpty = Rule(
        "envelope.empty", .error, section: "2", "`id` or `type` is the empty string.")
    public static let envelopeUnknownMember = Rule(
        "envelope.unknown-member", .warning, section: "2", "A top-level member that the BaseMessage does not define.")

    // §3 Entity IDs
    public static let idSyntax = Rule(
        "id.syntax", .error, section: "3", "`from` or `to` is not a valid Entity ID (sigil, local part, host or port).")
    public static let idRoomNotUUID = Rule(
        "id.room-not-uuid", .warning, section: "3", "A room id whose local part is not a UUID.")

    // §4 Errors
    public static let errorMissing = Rule(
        "error.missing", .error, section: "4", "An `X:error` payload lacks `errCode` or `errText`.")
    public static let errorType = Rule(
        "error.type", .error, section: "4", "`errCode` is not an integer, `errText` not a string or `errPayload` not an object.")
    public static let errorBare = Rule(
        "error.bare", .error, section: "4", "`type` is `:error` with no request type before it.")
    public static let errorOkTrue = Rule(
        "error.ok-true", .error, section: "4", "An `X:error` message says `\"ok\": true`.")
    public static let okFalseWithoutError = Rule(
        "ok.false-without-error", .warning, section: "4", "`\"ok\": false` on a type without `:error`.")

    // §5 Sessions
    public static let chainTypeMismatch = Rule(
        "chain.type-mismatch", .error, section: "5", "An `X:error` answers a request of the other side whose type is not `X`.")
    public static let chainUnknownID = Rule(
        "chain.unknown-id", .warning, section: "5", "An `X:error` whose `id` matches no earlier request of the other side.")
    public static let chainIDReuse = Rule(
        "chain.id-reuse", .warning, section: "5", "A side reuses an unanswered request's `id` for a request of another type.")

    // §6 Extension profiles
    public static let schemaViolation = Rule(
        "schema.violation", .error, section: "6", "The payload breaks its type's schema in the profile (`--profile`).")
    public static let typeUnknown = Rule(
        "type.unknown", .warning, section: "6", "No extension of the profile declares the type (severity: the profile's `unknownTypes`).")
    public static let errorCodeForeign = Rule(
        "error.code-foreign", .warning, section: "6", "An `X:error`'s `errCode` lies outside the ranges of `X`'s extension.")

    public static let all: [Rule] = [
        frameBinaryJSON, frameBinary,
        jsonSyntax, jsonDepth, jsonDuplicateKey, jsonUnsafeInteger,
        envelopeNotObject, envelopeMissing, envelopeType, envelopeEmpty, envelopeUnknownMember,
        idSyntax, idRoomNotUUID,
        errorMissing, errorType, errorBare, errorOkTrue, okFalseWithoutError,
        chainTypeMismatch, chainUnknownID, chainIDReuse,
        schemaViolation, typeUnknown, errorCodeForeign,
    ]

    public static func named(_ id: String) -> Rule? { all.first { $0.id == id } }
}

/// Every rule basetap checks, each defined once. The README's rules table is printed from
/// `Rule.all` (`basetap rules --format markdown`) and a test keeps the two equal.
extension Rule {
    // §1 Transport
    public static let frameBinaryJSON = Rule(
        "frame.binary-json", .warning, section: "1", "A binary message holds a JSON document (it is still checked).")
    public static let frameBinary = Rule(
        "frame.binary", .warning, section: "1", "A binary message that is not JSON (not checked further).")

    public static let wsHandshakeAccept = Rule(
        "ws.handshake-accept", .error, section: "1", "A 101 answer whose `Sec-WebSocket-Accept` does not match the client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2); clients must fail such a connection.")
    public static let wsUnmaskedClientFrame = Rule(
        "ws.unmasked-client-frame", .error, section: "1", "A client frame without a mask (RFC 6455 §5.1).")
    public static let wsMaskedServerFrame = Rule(
        "ws.masked-server-frame", .error, section: "1", "A server frame with a mask (RFC 6455 §5.1).")
    public static let wsRSVBits = Rule(
        "ws.rsv-bits", .error, section: "1", "RSV bits set without a negotiated extension that defines them.")
    public static let wsReservedOpcode = Rule(
        "ws.reserved-opcode", .error, section: "1", "A frame with a reserved opcode (0x3-0x7, 0xB-0xF).")
    public static let wsControlTooLong = Rule(
        "ws.control-too-long", .error, section: "1", "A control frame with more than 125 bytes of payload.")
    public static let wsControlFragmented = Rule(
        "ws.control-fragmented", .error, section: "1", "A control frame without FIN.")
    public static let wsLengthEncoding = Rule(
        "ws.length-encoding", .error, section: "1", "A frame length not in its shortest form (16 bits only past 125 bytes, 64 only past 65 535).")
    public static let wsContinuationWithoutStart = Rule(
        "ws.continuation-without-start", .error, section: "1", "A continuation frame with no fragmented message to continue.")
    public static let wsDataInsideFragment = Rule(
        "ws.data-inside-fragment", .error, section: "1", "A new text or binary frame while a fragmented message is unfinished.")
    public static let wsInvalidUTF8 = Rule(
        "ws.invalid-utf8", .error, section: "1", "A text message or close reason that is not valid UTF-8.")
    public static let wsCloseCode = Rule(
        "ws.close-code", .error, section: "1", "A close code that may not be sent (1005, 1006, 1015, <1000, 1016-2999, ≥5000) or a 1-byte Close body.")
    public static let wsDataAfterClose = Rule(
        "ws.data-after-close", .error, section: "1", "A frame sent after the same side's Close frame.")
    public static let wsInflateError = Rule(
        "ws.inflate-error", .error, section: "1", "A compressed message that is not valid deflate data.")
    public static let wsInflateLimit = Rule(
        "ws.inflate-limit", .error, section: "1", "A compressed message that inflates past the size or ratio limit (`--max-message-size`).")
    public static let wsMessageLimit = Rule(
        "ws.message-limit", .error, section: "1", "A frame or message larger than the limit (`--max-message-size`, default 64 MiB).")
    public static let wsFragmentLimit = Rule(
        "ws.fragment-limit", .error, section: "1", "A message split into more frames than the limit (`--max-fragments`, default 10 000); its fragments are skipped, relaying goes on.")
    public static let wsNoClosingHandshake = Rule(
        "ws.no-closing-handshake", .warning, section: "1", "A connection that ended without a Close frame from either side (RFC 6455 §7.1.1); reported for the side that dropped TCP.")
    public static let tcpGap = Rule(
        "tcp.gap", .error, section: "CAPTURE-FORMAT.md", "Bytes of a TCP stream are missing from the capture; the rest of that direction is skipped.")
    public static let tcpOverlapConflict = Rule(
        "tcp.overlap-conflict", .error, section: "CAPTURE-FORMAT.md", "A retransmitted TCP segment disagrees with the bytes first seen (the first copy is kept).")

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
        wsHandshakeAccept, wsUnmaskedClientFrame, wsMaskedServerFrame, wsRSVBits, wsReservedOpcode, wsControlTooLong, wsControlFragmented, wsLengthEncoding,
        wsContinuationWithoutStart, wsDataInsideFragment, wsInvalidUTF8, wsCloseCode, wsDataAfterClose, wsInflateError,
        wsInflateLimit, wsMessageLimit, wsFragmentLimit, wsNoClosingHandshake, tcpGap, tcpOverlapConflict,
        jsonSyntax, jsonDepth, jsonDuplicateKey, jsonUnsafeInteger,
        envelopeNotObject, envelopeMissing, envelopeType, envelopeEmpty, envelopeUnknownMember,
        idSyntax, idRoomNotUUID,
        errorMissing, errorType, errorBare, errorOkTrue, okFalseWithoutError,
        chainTypeMismatch, chainUnknownID, chainIDReuse,
        schemaViolation, typeUnknown, errorCodeForeign,
    ]

    public static func named(_ id: String) -> Rule? { all.first { $0.id == id } }
}

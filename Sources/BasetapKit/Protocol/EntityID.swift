import Foundation

/// The seven kinds of Entity ID of PROTOCOL.md §3.
public enum EntityKind: String, Sendable, CaseIterable {
    case roomAlias = "room alias"
    case username = "username"
    case msisdn = "MSISDN user"
    case email = "e-mail user"
    case messageID = "message id"
    case roomID = "room id"
    case server = "server"
}

/// Why a string is not an Entity ID: the kind it was read as, the part at fault and what is wrong.
public struct EntityIDError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Part: String, Sendable {
        case sigil, localPart = "local part", host, port
    }

    public var kind: EntityKind
    public var part: Part
    public var reason: String

    public var description: String { "\(kind.rawValue): \(reason)" }
}

/// A valid Entity ID, as far as PROTOCOL.md §3 goes.
public struct EntityIDInfo: Sendable, Equatable {
    public var kind: EntityKind
    /// False for a room id whose local part is not a UUID (legal, but the draft says SHOULD).
    public var roomIDIsUUID: Bool
}

public enum EntityID {
    /// Parses and validates an Entity ID given as UTF-8.
    public static func validate(_ p: UnsafeRawBufferPointer) -> Result<EntityIDInfo, EntityIDError> {
        guard let first = p.first else {
            return .failure(EntityIDError(kind: .server, part: .host, reason: "is empty"))
        }
        let kind: EntityKind
        switch first {
        case UInt8(ascii: "#"): kind = .roomAlias
        case UInt8(ascii: "@"): kind = .username
        case UInt8(ascii: "%"): kind = .msisdn
        case UInt8(ascii: "^"): kind = .email
        case UInt8(ascii: "&"): kind = .messageID
        case UInt8(ascii: "!"): kind = .roomID
        default:
            if let error = ServerPart.validate(p, 0, p.count) {
                if !Host.isHostByte(first) && first < 0x80 && first != UInt8(ascii: "[") && first != UInt8(ascii: ":") {
                    return .failure(EntityIDError(
                        kind: .server, part: .sigil,
                        reason: "unknown sigil '\(Character(UnicodeScalar(first)))' (expected # @ % ^ & ! or a server name)"))
                }
                return .failure(EntityIDError(kind: .server, part: error.part, reason: error.reason))
            }
            return .success(EntityIDInfo(kind: .server, roomIDIsUUID: false))
        }
        let separator = kind == .username || kind == .roomID ? UInt8(ascii: "@") : UInt8(ascii: ":")
        guard let sep = ByteSearch.first(separator, in: p, 1, p.count) else {
            return .failure(EntityIDError(
                kind: kind, part: .sigil,
                reason: "missing '\(Character(UnicodeScalar(separator)))' between the local part and the server part"))
        }
        func fail(_ part: EntityIDError.Part, _ reason: String) -> Result<EntityIDInfo, EntityIDError> {
            .failure(EntityIDError(kind: kind, part: part, reason: reason))
        }
        var isUUID = false
        switch kind {
        case .roomAlias, .username, .roomID:
            if let reason = localPartProblem(p, 1, sep) { return fail(.localPart, "local part " + reason) }
            isUUID = kind == .roomID && UUIDText.isCanonical(p, 1, sep)
        case .msisdn:
            if let reason = msisdnProblem(p, 1, sep) { return fail(.localPart, "local part " + reason) }
        case .email:
            if let (part, reason) = emailProblem(p, 1, sep) { return fail(part, reason) }
        case .messageID:
            guard UUIDText.isCanonical(p, 1, sep) else {
                return fail(.localPart, "local part '\(excerpt(p, 1, sep))' is not a canonical UUID (8-4-4-4-12 hex digits)")
            }
        case .server:
            break
        }
        if let error = ServerPart.validate(p, sep + 1, p.count) {
            return .failure(EntityIDError(kind: kind, part: error.part, reason: error.reason))
        }
        return .success(EntityIDInfo(kind: kind, roomIDIsUUID: isUUID))
    }

    public static func validate(_ string: String) -> Result<EntityIDInfo, EntityIDError> {
        var s = string
        return s.withUTF8 { validate(UnsafeRawBufferPointer($0)) }
    }

    /// Alias, username and room id local parts: non-empty, only `a-z 0-9 . _ = - /`.
    static func localPartProblem(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String? {
        guard start < end else { return "is empty" }
        for i in start..<end where !isLocalByte(p[i]) {
            return "'\(excerpt(p, start, end))' contains \(describe(p, i)) (only a-z 0-9 . _ = - / are allowed)"
        }
        return nil
    }

    @inline(__always)
    static func isLocalByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "="), UInt8(ascii: "-"), UInt8(ascii: "/"):
            true
        default: false
        }
    }

    static func msisdnProblem(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String? {
        guard start < end else { return "is empty (1-15 digits expected)" }
        if p[start] == UInt8(ascii: "+") { return "must not start with '+' (E.164 digits only)" }
        for i in start..<end where !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p[i]) {
            return "'\(excerpt(p, start, end))' contains \(describe(p, i)) (digits only)"
        }
        guard end - start <= 15 else { return "has \(end - start) digits (at most 15)" }
        return nil
    }

    private static let at: [UInt8] = Array("_at_".utf8)

    static func emailProblem(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> (EntityIDError.Part, String)? {
        var split: Int?
        var i = end - at.count
        while i >= start {
            if p[i] == at[0] && p[i + 1] == at[1] && p[i + 2] == at[2] && p[i + 3] == at[3] {
                split = i
                break
            }
            i -= 1
        }
        guard let split else { return (.localPart, "'\(excerpt(p, start, end))' has no '_at_' between user and host") }
        guard start < split else { return (.localPart, "the e-mail user before '_at_' is empty") }
        let local = String(decoding: UnsafeRawBufferPointer(rebasing: p[start..<split]), as: UTF8.self)
        if let bad = local.unicodeScalars.first(where: { $0.properties.isWhitespace || $0 == "@" || $0 == ":" }) {
            let shown = bad.properties.isWhitespace ? "whitespace U+\(JSONReader.hex(bad.value))" : "'\(bad)'"
            return (.localPart, "the e-mail user contains \(shown)")
        }
        if let reason = Host.dnsNameProblem(p, split + at.count, end, allowIPv4: false) {
            return (.localPart, "e-mail host: \(reason)")
        }
        return nil
    }

    static func excerpt(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String {
        JSONReader.abbreviate(String(decoding: UnsafeRawBufferPointer(rebasing: p[start..<end]), as: UTF8.self), limit: 40)
    }

    static func describe(_ p: UnsafeRawBufferPointer, _ i: Int) -> String {
        let b = p[i]
        if b >= 0x21 && b < 0x7F { return "'\(Character(UnicodeScalar(b)))'" }
        if b == 0x20 { return "a space" }
        if b >= 0x80, let len = UTF8Scan.sequenceLength(p, at: i, end: p.count) {
            return "'\(String(decoding: UnsafeRawBufferPointer(rebasing: p[i..<i + len]), as: UTF8.self))'"
        }
        return "byte 0x\(JSONReader.hex(b))"
    }
}

/// Canonical UUID text: 8-4-4-4-12 hex digits, either case.
enum UUIDText {
    static func isCanonical(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        guard end - start == 36 else { return false }
        for k in 0..<36 {
            let b = p[start + k]
            if k == 8 || k == 13 || k == 18 || k == 23 {
                guard b == UInt8(ascii: "-") else { return false }
            } else if JSONString.hexValue(b) == nil {
                return false
            }
        }
        return true
    }
}

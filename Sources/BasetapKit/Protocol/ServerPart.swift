/// The server part of an Entity ID: host, optionally `:port`.
enum ServerPart {
    struct Problem {
        var part: EntityIDError.Part
        var reason: String
    }

    static func validate(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Problem? {
        guard start < end else { return Problem(part: .host, reason: "the server part is empty") }
        var hostEnd: Int
        var portStart: Int?
        if p[start] == UInt8(ascii: "[") {
            guard let close = ByteSearch.first(UInt8(ascii: "]"), in: p, start, end) else {
                return Problem(part: .host, reason: "'[' without a closing ']'")
            }
            if let reason = IPv6Text.problem(p, start + 1, close) {
                return Problem(part: .host, reason: "IPv6 address '\(EntityID.excerpt(p, start + 1, close))' \(reason)")
            }
            hostEnd = close + 1
            if hostEnd < end {
                guard p[hostEnd] == UInt8(ascii: ":") else {
                    return Problem(part: .host, reason: "unexpected \(EntityID.describe(p, hostEnd)) after ']'")
                }
                portStart = hostEnd + 1
            }
        } else {
            hostEnd = ByteSearch.first(UInt8(ascii: ":"), in: p, start, end) ?? end
            if hostEnd < end {
                portStart = hostEnd + 1
                if ByteSearch.first(UInt8(ascii: ":"), in: p, hostEnd + 1, end) != nil {
                    return Problem(
                        part: .host,
                        reason: "'\(EntityID.excerpt(p, start, end))' has several ':'; an IPv6 address must be in brackets")
                }
            }
            if let reason = Host.dnsNameProblem(p, start, hostEnd, allowIPv4: true) {
                return Problem(part: .host, reason: reason)
            }
        }
        if let portStart, let reason = portProblem(p, portStart, end) {
            return Problem(part: .port, reason: reason)
        }
        return nil
    }

    /// Decimal 1-65535, no sign.
    static func portProblem(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String? {
        guard start < end else { return "port is empty after ':'" }
        for i in start..<end where !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p[i]) {
            return "port '\(EntityID.excerpt(p, start, end))' is not a decimal number (\(EntityID.describe(p, i)))"
        }
        var value = 0
        for i in start..<end {
            value = value * 10 + Int(p[i] - UInt8(ascii: "0"))
            if value > 65535 { break }
        }
        guard value >= 1 && value <= 65535 else {
            return "port \(EntityID.excerpt(p, start, end)) is out of range 1-65535"
        }
        return nil
    }
}

/// Host names: an IPv4 dotted quad or a DNS name.
enum Host {
    @inline(__always)
    static func isHostByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
            true
        default: false
        }
    }

    /// A DNS name (labels of 1-63 of `A-Z a-z 0-9 -`, no leading or trailing '-', at most 253 in all).
    /// A name whose labels are all digits must be a valid IPv4 address when `allowIPv4` says so.
    static func dnsNameProblem(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, allowIPv4: Bool) -> String? {
        guard start < end else { return "host is empty" }
        var allDigits = true
        for i in start..<end {
            let b = p[i]
            guard isHostByte(b) else {
                return "host '\(EntityID.excerpt(p, start, end))' contains \(EntityID.describe(p, i))"
            }
            if b != UInt8(ascii: ".") && !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) { allDigits = false }
        }
        if allDigits && allowIPv4 { return ipv4Problem(p, start, end) }
        guard end - start <= 253 else { return "host name is \(end - start) characters long (at most 253)" }
        var labelStart = start
        for i in start...end where i == end || p[i] == UInt8(ascii: ".") {
            let len = i - labelStart
            if len == 0 {
                return "host '\(EntityID.excerpt(p, start, end))' has an empty label (leading, trailing or double '.')"
            }
            if len > 63 { return "host label '\(EntityID.excerpt(p, labelStart, i))' is \(len) characters long (at most 63)" }
            if p[labelStart] == UInt8(ascii: "-") || p[i - 1] == UInt8(ascii: "-") {
                return "host label '\(EntityID.excerpt(p, labelStart, i))' starts or ends with '-'"
            }
            labelStart = i + 1
        }
        return nil
    }

    /// Dotted quad, each octet 0-255 without leading zeros (which some parsers read as octal).
    static func ipv4Problem(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String? {
        let text = EntityID.excerpt(p, start, end)
        var octets = 0
        var octetStart = start
        for i in start...end where i == end || p[i] == UInt8(ascii: ".") {
            octets += 1
            let len = i - octetStart
            guard len > 0 else { return "IPv4 address '\(text)' has an empty octet" }
            guard len <= 3 else { return "IPv4 address '\(text)' has an octet out of range 0-255" }
            var value = 0
            for k in octetStart..<i {
                // Callers check for digits, except in an IPv6 address's embedded IPv4 tail.
                guard p[k] &- UInt8(ascii: "0") < 10 else { return "IPv4 address '\(text)' contains \(EntityID.describe(p, k))" }
                value = value * 10 + Int(p[k] - UInt8(ascii: "0"))
            }
            if value > 255 { return "IPv4 address '\(text)' has octet \(value), out of range 0-255" }
            if len > 1 && p[octetStart] == UInt8(ascii: "0") {
                return "IPv4 address '\(text)' has an octet with a leading zero"
            }
            octetStart = i + 1
        }
        guard octets == 4 else { return "IPv4 address '\(text)' has \(octets) octets (a name of digits only must be a dotted quad)" }
        return nil
    }
}

/// RFC 4291 text forms of IPv6 addresses (without zone ids).
enum IPv6Text {
    static func problem(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String? {
        guard start < end else { return "is empty" }
        if ByteSearch.first(UInt8(ascii: "%"), in: p, start, end) != nil { return "has a zone id, which is not allowed" }
        var doubleColon: Int?
        var i = start
        while i + 1 < end {
            if p[i] == UInt8(ascii: ":") && p[i + 1] == UInt8(ascii: ":") {
                if doubleColon != nil { return "uses '::' more than once" }
                doubleColon = i
                i += 2
            } else {
                i += 1
            }
        }
        var groups = 0
        func countGroups(_ s: Int, _ e: Int, ipv4Allowed: Bool) -> String? {
            guard s < e else { return nil }
            var gs = s
            for k in s...e where k == e || p[k] == UInt8(ascii: ":") {
                let len = k - gs
                if len == 0 { return "has an empty group" }
                if k == e && ipv4Allowed && p[gs..<k].contains(UInt8(ascii: ".")) {
                    if let reason = Host.ipv4Problem(p, gs, k) { return "has an embedded \(reason)" }
                    groups += 2
                    return nil
                }
                if len > 4 { return "has group '\(EntityID.excerpt(p, gs, k))' of more than 4 hex digits" }
                for j in gs..<k where JSONString.hexValue(p[j]) == nil {
                    return "contains \(EntityID.describe(p, j))"
                }
                groups += 1
                gs = k + 1
            }
            return nil
        }
        if let dc = doubleColon {
            if let reason = countGroups(start, dc, ipv4Allowed: false) { return reason }
            if let reason = countGroups(dc + 2, end, ipv4Allowed: true) { return reason }
            guard groups <= 7 else { return "has \(groups) groups besides '::' (at most 7)" }
        } else {
            if let reason = countGroups(start, end, ipv4Allowed: true) { return reason }
            guard groups == 8 else { return "has \(groups) groups (8 expected without '::')" }
        }
        return nil
    }
}

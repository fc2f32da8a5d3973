import Foundation

/// RFC 3339 UTC timestamps with microseconds, as the capture format writes them.
public enum CaptureTime {
    public static func now() -> String {
        format(nanoseconds: nanoseconds())
    }

    /// A timestamp in nanoseconds since 1970 (pcap, the proxy's clock) as capture text; a time
    /// before 1970 is written as 1970, the earliest the format's readers expect.
    public static func format(nanoseconds ns: Int64) -> String {
        let ns = max(0, ns)
        return format(seconds: Int(ns / 1_000_000_000), microseconds: Int(ns % 1_000_000_000 / 1000))
    }

    /// Wall-clock time in nanoseconds since 1970.
    public static func nanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    public static func format(seconds: Int, microseconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        // Every record gets a timestamp: its 27 bytes are written in place, not built from pieces.
        return String(unsafeUninitializedCapacity: 27) { out in
            func put(_ value: Int, _ width: Int, at start: Int) {
                var v = value
                for i in stride(from: start + width - 1, through: start, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            put(Int(parts.tm_year) + 1900, 4, at: 0)
            out[4] = UInt8(ascii: "-")
            put(Int(parts.tm_mon) + 1, 2, at: 5)
            out[7] = UInt8(ascii: "-")
            put(Int(parts.tm_mday), 2, at: 8)
            out[10] = UInt8(ascii: "T")
            put(Int(parts.tm_hour), 2, at: 11)
            out[13] = UInt8(ascii: ":")
            put(Int(parts.tm_min), 2, at: 14)
            out[16] = UInt8(ascii: ":")
            put(Int(parts.tm_sec), 2, at: 17)
            out[19] = UInt8(ascii: ".")
            put(microseconds, 6, at: 20)
            out[26] = UInt8(ascii: "Z")
            return 27
        }
    }

    /// Seconds since 1970 for a timestamp of the capture format (any fraction length, `Z` or an offset).
    public static func seconds(_ text: String) -> Double? {
        nanoseconds(text).map { Double($0) / 1e9 }
    }

    /// Nanoseconds since 1970 for a timestamp of the capture format, exactly: replay paces by the
    /// differences of these, which a `Double` of seconds since 1970 holds only to a few hundred ns.
    /// Digits past the ninth of the fraction are passed over.
    public static func nanoseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var v = 0
            for i in range {
                guard i < bytes.count, bytes[i] &- UInt8(ascii: "0") < 10 else { return nil }
                v = v * 10 + Int(bytes[i] - UInt8(ascii: "0"))
            }
            return v
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var i = 19
        var fraction: Int64 = 0
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100_000_000
            while i < bytes.count, bytes[i] &- UInt8(ascii: "0") < 10 {
                fraction += Int64(bytes[i] - UInt8(ascii: "0")) * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
            guard let oh = number(i + 1..<i + 3), let om = number(i + 4..<i + 6) else { return nil }
            offset = (oh * 3600 + om * 60) * (bytes[i] == UInt8(ascii: "-") ? -1 : 1)
        } else if i >= bytes.count || (bytes[i] != UInt8(ascii: "Z") && bytes[i] != UInt8(ascii: "z")) {
            return nil
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Int64(timegm(&parts) - offset) * 1_000_000_000 + fraction
    }
}

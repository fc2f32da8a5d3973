import Foundation

/// RFC 3339 UTC timestamps with microseconds, as the capture format writes them.
public enum CaptureTime {
    public static func now() -> String {
        format(nanoseconds: nanoseconds())
    }

    /// A timestamp in nanoseconds since 1970 (pcap, the proxy's clock) as capture text.
    public static func format(nanoseconds ns: Int64) -> String {
        format(seconds: Int(ns / 1_000_000_000), microseconds: Int(ns % 1_000_000_000 / 1000))
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
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(microseconds), 6))Z"
    }

    /// Seconds since 1970 for a timestamp of the capture format (any fraction length, `Z` or an offset).
    public static func seconds(_ text: String) -> Double? {
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
        var fraction = 0.0
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < bytes.count, bytes[i] &- UInt8(ascii: "0") < 10 {
                fraction += Double(bytes[i] - UInt8(ascii: "0")) * scale
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
        return Double(timegm(&parts) - offset) + fraction
    }
}

/// RFC 6455 §7.4 close codes: which may appear in a Close frame.
public enum CloseCode {
    /// A Close frame's payload: the code in network order, then the reason (RFC 6455 §5.5.1).
    static func payload(_ code: Int, _ reason: String) -> [UInt8] {
        [UInt8(truncatingIfNeeded: code >> 8), UInt8(truncatingIfNeeded: code)] + Array(reason.utf8)
    }

    /// Codes an endpoint may send: the defined ones, IANA's 1012-1014, and 3000-4999 for libraries
    /// and applications. 1005, 1006 and 1015 are for reporting only and never go on the wire.
    public static func isValidOnWire(_ code: Int) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }
}

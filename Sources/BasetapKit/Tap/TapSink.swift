/// What decoding a capture produces: records in the JSONL capture format, and the WebSocket and
/// TCP-level findings that only the wire shows (they carry the offset in the direction's stream).
public protocol TapSink: AnyObject {
    func record(_ record: CaptureRecord) throws
    func violation(conn: String, dir: Direction, rule: Rule, message: String, offset: Int) throws
}

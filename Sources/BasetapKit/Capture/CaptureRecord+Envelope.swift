extension Envelope {
    /// The `id` of a text message, or nil.
    public static func id(of record: CaptureRecord) -> String? {
        record.kind == .text ? peek(record.payload)?.id : nil
    }
}

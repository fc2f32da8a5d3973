/// Where `decode` writes the records it makes: a JSONL capture or a HAR.
public protocol RecordWriter: AnyObject {
    func write(_ record: CaptureRecord) throws
    /// Writes what is still held and closes the output.
    func close() throws
}

extension JSONLCaptureWriter: RecordWriter {}

/// Writes a JSONL capture: the header line, then one line per record, buffered.
public final class JSONLCaptureWriter {
    private let output: OutputFile
    public private(set) var recordsWritten = 0

    public init(output: OutputFile) throws {
        self.output = output
        try output.write(CaptureRecord.headerLine + "\n")
    }

    public convenience init(path: String) throws {
        try self.init(output: try OutputFile(path: path))
    }

    public func write(_ record: CaptureRecord) throws {
        try output.append { record.appendJSONLine(into: &$0) }
        recordsWritten += 1
    }

    /// Lines encoded elsewhere (by `CaptureRecord.appendJSONLine`), written as they are.
    func writeEncoded(_ lines: [UInt8]) throws {
        try output.write(lines)
    }

    public func flush() throws { try output.flush() }

    public func close() throws { try output.close() }
}

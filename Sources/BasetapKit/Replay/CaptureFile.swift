import Foundation

/// A whole capture in memory, whatever its format: JSONL as it is, pcap, pcapng and HAR decoded.
/// For replay and fuzzing, which need a session's records before they start.
public enum CaptureFile {
    public static func records(path: String, options: PcapDecoder.Options = PcapDecoder.Options()) throws -> [CaptureRecord] {
        switch try CaptureFileKind.detect(path: path) {
        case .jsonl:
            return try JSONLCaptureReader(path: path).readAll()
        case .har:
            return try HARReader.read(path: path).records
        case .pcap, .pcapng:
            let sink = CollectingSink()
            let summary = try PcapDecoder(sink: sink, options: options).decode(path: path)
            if let truncation = summary.truncation {
                throw BasetapError.input(place: path, message: "\(truncation); decode what is readable with 'basetap decode' first")
            }
            return sink.records
        }
    }
}

/// Where the taps of a decoder's connections send what they find, and what they count.
final class TapWorker {
    let sink: TapSink
    /// Bounds the zlib states this worker's taps keep awake.
    let inflaters: InflaterBudget
    /// What the taps counted (connections, messages, gaps…), merged as each connection ends.
    var summary = DecodeSummary()
    /// Told after each step of a connection its place in the file (the packet's number, or one past
    /// the last for the connections the file's end finishes) and the connection: output made by
    /// several decoders is put in order by it.
    var afterStep: ((_ sequence: Int, _ conn: String) -> Void)?

    init(sink: TapSink, maxAwakeInflaters: Int) {
        self.sink = sink
        inflaters = InflaterBudget(limit: maxAwakeInflaters)
    }
}

/// Where the one writer hands what it writes for live inspection (the web inspector's store),
/// in the order it was found.
protocol InspectionSink: AnyObject, Sendable {
    func add(_ record: CaptureRecord)
    func add(_ violation: Violation)
}

/// A message's string `id` and `type`, read off the JSON reader's tape without building a value:
/// replay, fuzzing, the proxy's control and the inspector ask this of every message.
public struct Envelope: Equatable, Sendable {
    public var id: String?
    public var type: String?

    /// The envelope of a payload, or nil when it is not a JSON object.
    public static func peek(_ payload: [UInt8]) -> Envelope? {
        var reader = JSONReader()
        let result = payload.withUnsafeBytes { bytes in
            reader.withParsed(bytes) { view, _ -> Envelope? in
                guard view[0].kind == .object else { return nil }
                let string = { (name: StaticString) in view.member(0, name).flatMap { view[$0].kind == .string ? view.string($0) : nil } }
                return Envelope(id: string("id"), type: string("type"))
            }
        }
        return (try? result.get()) ?? nil
    }
}

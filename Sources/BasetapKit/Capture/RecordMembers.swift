import Foundation

/// A record line as `JSONReader` parsed it, with the tape index of each member version 1 defines
/// (-1 for one it lacks).
struct RecordMembers {
    let view: JSONView
    let fields: UnsafeBufferPointer<Int>

    func field(_ f: RecordField) -> Int? {
        let index = fields[f.rawValue]
        return index >= 0 ? index : nil
    }

    var isRaw: Bool { field(.raw).map { view[$0].kind == .true } ?? false }

    /// The whole record as a value, unknown members included, given what the parser has read of it.
    func record(conn: String, dir: Direction?, kind: CaptureRecord.Kind, payload: UnsafeRawBufferPointer) throws -> CaptureRecord {
        var record = CaptureRecord(
            ts: try optionalString(.ts) ?? "", conn: conn, dir: dir, kind: kind, payload: Array(payload))
        if let code = field(.code) {
            guard let value = view.int64(code), (0...65535).contains(value) else {
                throw LineProblem(message: "\"code\" must be an integer from 0 to 65535")
            }
            record.code = Int(value)
        }
        record.reason = try optionalString(.reason)
        record.url = try optionalString(.url)
        record.subprotocol = try optionalString(.subprotocol)
        record.extensions = try optionalString(.extensions)
        record.client = try optionalString(.client)
        record.server = try optionalString(.server)
        record.error = try optionalString(.error)
        if let headers = field(.headers) {
            record.headers = try parseHeaders(headers)
        }
        if let frames = field(.frames) {
            record.frames = try parseFrames(frames)
        }
        if let mutation = field(.mutation) {
            record.mutation = try parseMutation(mutation)
        }
        record.raw = isRaw
        record.request = try optionalString(.request)
        if let control = try optionalString(.control) {
            guard let mark = CaptureRecord.ControlMark(rawValue: control) else {
                throw LineProblem(message: "\"control\" is '\(control)', not one of \(CaptureRecord.ControlMark.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            record.control = mark
        }
        if let finding = field(.finding) {
            record.finding = try parseFinding(finding)
        }
        for (key, value) in view.members(0) where RecordField.lookup(view, key) == nil {
            record.unknown.append(JSONValue.Member(view.string(key), JSONValue(view, value)))
        }
        return record
    }

    private func optionalString(_ f: RecordField) throws(LineProblem) -> String? {
        guard let index = field(f) else { return nil }
        guard view[index].kind == .string else {
            throw LineProblem(message: "\"\(f)\" must be a string, not \(view[index].kind.withArticle)")
        }
        return view.string(index)
    }

    private func parseHeaders(_ index: Int) throws(LineProblem) -> [CaptureRecord.Header] {
        let problem = LineProblem(message: "\"headers\" must be an array of [name, value] string pairs")
        guard view[index].kind == .array else { throw problem }
        var headers: [CaptureRecord.Header] = []
        for pair in view.elements(index) {
            guard view[pair].kind == .array, view[pair].count == 2 else { throw problem }
            let name = pair + 1
            let value = Int(view[name].next)
            guard view[name].kind == .string, view[value].kind == .string else { throw problem }
            headers.append(CaptureRecord.Header(view.string(name), view.string(value)))
        }
        return headers
    }

    private func parseFrames(_ index: Int) throws(LineProblem) -> [CaptureRecord.Frame] {
        let problem = LineProblem(message: "\"frames\" must be an array of {fin, op, rsv, len, masked} objects")
        guard view[index].kind == .array else { throw problem }
        var frames: [CaptureRecord.Frame] = []
        for element in view.elements(index) {
            guard view[element].kind == .object else { throw problem }
            var frame = CaptureRecord.Frame(fin: true, opcode: 0, rsv: 0, length: 0, masked: false)
            if let v = view.member(element, "fin") { frame.fin = view[v].kind == .true }
            if let v = view.member(element, "op"), let n = view.int64(v), (0...15).contains(n) { frame.opcode = UInt8(n) } else { throw problem }
            if let v = view.member(element, "rsv"), let n = view.int64(v), (0...7).contains(n) { frame.rsv = UInt8(n) }
            if let v = view.member(element, "len"), let n = view.int64(v), n >= 0 { frame.length = Int(n) }
            if let v = view.member(element, "masked") { frame.masked = view[v].kind == .true }
            frames.append(frame)
        }
        return frames
    }

    private func parseFinding(_ index: Int) throws(LineProblem) -> CaptureRecord.FindingMark {
        let problem = LineProblem(message: "\"finding\" must be {\"oracle\": string, \"symptom\": string, \"detail\": string}")
        guard view[index].kind == .object else { throw problem }
        func member(_ name: StaticString) throws(LineProblem) -> String {
            guard let value = view.member(index, name), view[value].kind == .string else { throw problem }
            return view.string(value)
        }
        return CaptureRecord.FindingMark(oracle: try member("oracle"), symptom: try member("symptom"), detail: try member("detail"))
    }

    private func parseMutation(_ index: Int) throws(LineProblem) -> CaptureRecord.Mutation {
        let problem = LineProblem(message: "\"mutation\" must be {\"seed\": integer, \"ops\": [strings]}")
        guard view[index].kind == .object, let seedIndex = view.member(index, "seed"),
            let seed = UInt64(view.rawText(seedIndex))
        else { throw problem }
        var ops: [String] = []
        if let opsIndex = view.member(index, "ops") {
            guard view[opsIndex].kind == .array else { throw problem }
            for op in view.elements(opsIndex) {
                guard view[op].kind == .string else { throw problem }
                ops.append(view.string(op))
            }
        }
        return CaptureRecord.Mutation(seed: seed, ops: ops)
    }
}

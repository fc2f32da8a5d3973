/// Compares the server's side of a recorded session with the same session replayed: answers are
/// paired by request id (in order when an id has several), server-initiated messages are counted by
/// type, and the close is compared last.
public struct SessionDiff: Sendable {
    /// Pointers whose differences do not count (`/payload/ts`; `*` matches one segment).
    public var ignore: [String] = []
    /// Values that differ by nature count as equal when they have the same shape: UUIDs, timestamps,
    /// long numbers and hex strings inside strings, and epoch times.
    public var ignoreVolatile = false

    public init(ignore: [String] = [], ignoreVolatile: Bool = false) {
        self.ignore = ignore
        self.ignoreVolatile = ignoreVolatile
    }

    public func compare(recorded: [CaptureRecord], replayed outcome: ReplayOutcome) -> [Difference] {
        let conn = outcome.conn
        if let failure = outcome.failure {
            return [Difference(conn: conn, kind: .failure, detail: failure)]
        }
        let old = ServerSide(recorded)
        let new = ServerSide(outcome.records)
        var differences: [Difference] = []
        for id in old.ids + new.ids.filter({ old.answers[$0] == nil }) {
            let before = old.answers[id] ?? [], after = new.answers[id] ?? []
            for index in 0..<max(before.count, after.count) {
                switch (index < before.count ? before[index] : nil, index < after.count ? after[index] : nil) {
                case (let was?, let now?):
                    // Most answers come back byte for byte; only those that do not are parsed and walked.
                    guard was != now, let was = try? JSONValue(parsing: was), let now = try? JSONValue(parsing: now) else { continue }
                    differences += diff(was, now, conn: conn, id: id)
                case (let was?, nil):
                    let was = (try? JSONValue(parsing: was)) ?? .null
                    let why = outcome.unanswered.contains(id) ? "no answer within the timeout" : "no answer"
                    differences.append(Difference(conn: conn, kind: .missingAnswer, id: id, type: was["type"]?.stringValue,
                                                  recorded: was.jsonText, detail: "\(why); recorded \(Self.describe(was))"))
                case (nil, let now?):
                    let now = (try? JSONValue(parsing: now)) ?? .null
                    differences.append(Difference(conn: conn, kind: .extraAnswer, id: id, type: now["type"]?.stringValue,
                                                  now: now.jsonText, detail: "an answer the recording did not have: \(Self.describe(now))"))
                case (nil, nil):
                    break
                }
            }
        }
        for type in old.unsolicitedTypes + new.unsolicitedTypes.filter({ old.unsolicited[$0] == nil }) {
            let was = old.unsolicited[type] ?? 0, now = new.unsolicited[type] ?? 0
            if was != now {
                differences.append(Difference(conn: conn, kind: .unsolicited, type: type, recorded: "\(was)", now: "\(now)",
                                              detail: "the server sent \(now) '\(type)' messages of its own; the recording has \(was)"))
            }
        }
        if let difference = Self.compareEnds(recorded: Ending(recorded), now: Ending(outcome), conn: conn) { differences.append(difference) }
        return differences
    }

    private func diff(_ was: JSONValue, _ now: JSONValue, conn: String, id: String) -> [Difference] {
        var found: [(String, JSONValue?, JSONValue?)] = []
        walk(was, now, "", &found)
        return found.map { pointer, before, after in
            let kind: Difference.Kind = pointer == "/type" ? .type : pointer == "/ok" ? .ok : .value
            let show = { (value: JSONValue?) in value.map { JSONReader.abbreviate($0.jsonText, limit: 80) } ?? "absent" }
            return Difference(conn: conn, kind: kind, id: id, type: was["type"]?.stringValue, pointer: pointer,
                              recorded: before?.jsonText, now: after?.jsonText, detail: "\(pointer): recorded \(show(before)), now \(show(after))")
        }
    }

    private func walk(_ was: JSONValue?, _ now: JSONValue?, _ pointer: String, _ found: inout [(String, JSONValue?, JSONValue?)]) {
        guard !ignored(pointer) else { return }
        switch (was, now) {
        case (.object(let a)?, .object(let b)?):
            var seen = Set<String>()
            for member in a + b where seen.insert(member.key).inserted {
                walk(a.first { $0.key == member.key }?.value, b.first { $0.key == member.key }?.value,
                     JSONPointer.appending(pointer, member.key), &found)
            }
        case (.array(let a)?, .array(let b)?):
            for index in 0..<max(a.count, b.count) {
                walk(index < a.count ? a[index] : nil, index < b.count ? b[index] : nil, JSONPointer.appending(pointer, index), &found)
            }
        default:
            if !equal(was, now) { found.append((pointer, was, now)) }
        }
    }

    private func equal(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        switch (a, b) {
        case (.number(let x)?, .number(let y)?):
            if x == y || (Double(x) != nil && Double(x) == Double(y)) { return true }
            return ignoreVolatile && Volatile.isEpoch(x) && Volatile.isEpoch(y)
        case (.string(let x)?, .string(let y)?):
            return x == y || (ignoreVolatile && Volatile.shape(x) == Volatile.shape(y))
        default:
            return a == b
        }
    }

    private func ignored(_ pointer: String) -> Bool {
        guard !ignore.isEmpty, !pointer.isEmpty else { return false }
        let tokens = JSONPointer.tokens(pointer)
        return ignore.contains { pattern in
            let want = JSONPointer.tokens(pattern)
            return want.count <= tokens.count && zip(want, tokens).allSatisfy { $0 == "*" || $0 == $1 }
        }
    }

    /// How the server ended a connection, as far as a session shows it.
    enum Ending: Equatable {
        case close(Int)
        /// TCP ended without any Close frame (a reset, or an EOF) from the server's side.
        case dropped(String)
        /// The session does not say: a capture cut short, or a mutated session with no server side.
        case unknown

        init(_ records: [CaptureRecord]) {
            if let close = records.last(where: { $0.dir == .s2c && $0.kind == .close }) {
                self = .close(close.code ?? 1005)
            } else if let error = records.last(where: { $0.kind == .end })?.error, error.contains(WebSocketTap.dropped(by: .s2c)) {
                self = .dropped(error)
            } else {
                self = .unknown
            }
        }

        /// A new session's end: its records' Close, else how the replaying client saw it end.
        init(_ outcome: ReplayOutcome) {
            if case .close(let code) = Ending(outcome.records) {
                self = .close(code)
            } else if let abnormal = outcome.abnormalEnd {
                self = .dropped(abnormal)
            } else {
                self = .unknown
            }
        }

        var sentence: String {
            switch self {
            case .close(let code): "closed with \(code)"
            case .dropped(let why): "ended without a Close (\(why))"
            case .unknown: "ended without a Close"
            }
        }
    }

    /// Only what the recording knows is compared: an end it does not hold is no difference, and a
    /// recorded drop matched by a drop is the same end, whatever the words of the error.
    static func compareEnds(recorded: Ending, now: Ending, conn: String) -> Difference? {
        let code = { (ending: Ending) -> String? in if case .close(let code) = ending { String(code) } else { nil } }
        switch (recorded, now) {
        case (.unknown, _), (.dropped, .dropped), (.dropped, .unknown):
            return nil
        case (.close(let a), .close(let b)) where a == b:
            return nil
        default:
            return Difference(conn: conn, kind: .close, recorded: code(recorded), now: code(now),
                              detail: "the server \(now.sentence); in the recording it \(recorded.sentence)")
        }
    }

    static func describe(_ value: JSONValue) -> String {
        let type = value["type"]?.stringValue.map { "'\($0)'" } ?? "a message"
        if case .bool(let ok)? = value["ok"] { return "\(type) with ok: \(ok)" }
        return type
    }

    /// The server's messages of one session: answers (as sent) by request id, the rest counted by type.
    private struct ServerSide {
        var ids: [String] = []
        var answers: [String: [[UInt8]]] = [:]
        var unsolicitedTypes: [String] = []
        var unsolicited: [String: Int] = [:]

        init(_ records: [CaptureRecord]) {
            let requests = Set(records.lazy.filter { $0.dir == .c2s && $0.kind == .text }.compactMap { Envelope.peek($0.payload)?.id })
            for record in records where record.dir == .s2c {
                switch record.kind {
                case .text:
                    let envelope = Envelope.peek(record.payload)
                    if let id = envelope?.id, requests.contains(id) {
                        if answers[id] == nil { ids.append(id) }
                        answers[id, default: []].append(record.payload)
                    } else {
                        count(envelope.map { $0.type ?? "(no type)" } ?? "(not JSON)")
                    }
                case .binary:
                    count("(binary)")
                default:
                    break
                }
            }
        }

        private mutating func count(_ type: String) {
            if unsolicited[type] == nil { unsolicitedTypes.append(type) }
            unsolicited[type, default: 0] += 1
        }
    }
}

/// Shapes of values that differ from run to run by nature.
enum Volatile {
    /// The string with UUIDs, date-times, long digit runs and long hex runs replaced by placeholders.
    static func shape(_ text: String) -> String {
        text.replacing(/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/, with: "<uuid>")
            .replacing(/\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?/, with: "<time>")
            .replacing(/[0-9a-fA-F]{16,}/, with: "<hex>")
            .replacing(/\d{6,}/, with: "<n>")
    }

    /// Integers that read as Unix times in seconds or milliseconds (2001 to 2096).
    static func isEpoch(_ number: String) -> Bool {
        guard let value = Int64(number) else { return false }
        return (1_000_000_000...4_000_000_000).contains(value) || (1_000_000_000_000...4_000_000_000_000).contains(value)
    }
}

import Foundation

/// Checks one message against PROTOCOL.md §1-§4: JSON, envelope, Entity IDs and the error convention.
/// The session rules of §5 need memory across messages and live in `ChainTracker`.
///
/// A checker is reused for every message of a run: its JSON reader and finding buffer keep their capacity.
public struct MessageChecker: Sendable {
    /// What the session rules and the violation records need to know of a checked message.
    public struct Envelope: Sendable, Equatable {
        public var id: String?
        public var type: String?
    }

    public private(set) var findings: [Finding] = []
    private var reader: JSONReader
    private var entityIDs = EntityIDCache()
    /// Payload schemas and error codes per type (§6), when a profile was given.
    public let profile: Profile?

    public init(maxDepth: Int = JSONReader.defaultMaxDepth, profile: Profile? = nil) {
        reader = JSONReader(maxDepth: maxDepth)
        self.profile = profile
    }

    /// Checks a message's payload; `binary` for a binary WebSocket message; `quotes`, where its
    /// quotes are when that is known (see `JSONReader.parse(_:quotes:)`). Findings replace those of
    /// the previous call.
    @discardableResult
    public mutating func check(_ bytes: UnsafeRawBufferPointer, binary: Bool = false, quotes: UnsafeBufferPointer<Int32>? = nil) -> Envelope {
        if !findings.isEmpty { findings.removeAll(keepingCapacity: true) }
        let failure = if let quotes { reader.parse(bytes, quotes: quotes) } else { reader.parse(bytes) }
        if let error = failure {
            if binary {
                findings.append(Finding(.frameBinary, "", "binary message of \(bytes.count) bytes is not JSON; not checked further"))
            } else if error.kind == .depth {
                findings.append(Finding(.jsonDepth, "", error.description))
            } else {
                findings.append(Finding(.jsonSyntax, "", error.description))
            }
            return Envelope()
        }
        if binary {
            findings.append(Finding(.frameBinaryJSON, "", "JSON sent as a binary message; text messages are expected"))
        }
        for issue in reader.issues {
            switch issue.kind {
            case .duplicateKey: findings.append(Finding(.jsonDuplicateKey, issue.pointer, issue.message))
            case .unsafeInteger: findings.append(Finding(.jsonUnsafeInteger, issue.pointer, issue.message))
            }
        }
        return reader.nodes.withUnsafeBufferPointer { nodes in
            var rules = EnvelopeRules(view: JSONView(bytes: bytes, nodes: nodes), profile: profile)
            rules.run(into: &findings, ids: &entityIDs)
            return Envelope(id: rules.id, type: rules.type)
        }
    }

    /// The findings are what a caller of this one usually wants (`findings`); the envelope may go unused.
    @discardableResult
    public mutating func check(_ bytes: [UInt8], binary: Bool = false) -> Envelope {
        bytes.withUnsafeBytes { check($0, binary: binary) }
    }
}

/// The rules of §2-§4 over one parsed message.
struct EnvelopeRules {
    let view: JSONView
    let profile: Profile?
    var id: String?
    var type: String?

    /// Members of the BaseMessage, with the JSON kind each must have and whether it is required.
    enum Member: Int, CaseIterable {
        case id, type, from, to, ok, payload

        var literal: StaticString {
            switch self {
            case .id: "id"
            case .type: "type"
            case .from: "from"
            case .to: "to"
            case .ok: "ok"
            case .payload: "payload"
            }
        }

        var name: String { literal.description }

        static let names = NameTable(allCases.map { ($0.name, $0) })

        var isRequired: Bool { self != .ok }
        var expectedName: String { self == .ok ? "a boolean" : self == .payload ? "an object" : "a string" }

        func accepts(_ kind: JSONKind) -> Bool {
            switch self {
            case .ok: kind == .true || kind == .false
            case .payload: kind == .object
            default: kind == .string
            }
        }
    }

    /// Tape index of each member's value (first occurrence), -1 when absent or of the wrong type.
    /// A fixed tuple rather than an array: no allocation per message.
    struct Slots {
        var values: (Int, Int, Int, Int, Int, Int) = (-1, -1, -1, -1, -1, -1)

        // By offset rather than by a switch over the members: a switch compiles to a jump whose
        // target changes from one member to the next, which the processor keeps mispredicting.
        subscript(_ member: Member) -> Int {
            get { withUnsafeBytes(of: values) { $0.load(fromByteOffset: member.rawValue * MemoryLayout<Int>.stride, as: Int.self) } }
            set {
                withUnsafeMutableBytes(of: &values) {
                    $0.storeBytes(of: newValue, toByteOffset: member.rawValue * MemoryLayout<Int>.stride, as: Int.self)
                }
            }
        }
    }

    init(view: JSONView, profile: Profile?) {
        self.view = view
        self.profile = profile
    }

    mutating func run(into findings: inout [Finding], ids: inout EntityIDCache) {
        let root = view[0]
        guard root.kind == .object else {
            findings.append(Finding(.envelopeNotObject, "", "the message is a JSON \(root.kind.name), not an object"))
            return
        }
        var slots = Slots()
        for (key, value) in view.members(0) {
            if let member = Self.member(view, key) {
                if slots[member] < 0 { slots[member] = value }
            } else {
                let name = view.string(key)
                findings.append(Finding(
                    .envelopeUnknownMember, JSONPointer.appending("", name),
                    "member \(JSONString.quoted(JSONReader.abbreviate(name))) is not part of the BaseMessage"))
            }
        }
        for member in Member.allCases {
            let index = slots[member]
            guard index >= 0 else {
                if member.isRequired {
                    findings.append(Finding(.envelopeMissing, "/" + member.name, "required member \"\(member.name)\" is missing"))
                }
                continue
            }
            let kind = view[index].kind
            if !member.accepts(kind) {
                let what = kind == .null ? "null, which is never accepted" : kind.withArticle
                findings.append(Finding(
                    .envelopeType, "/" + member.name, "\"\(member.name)\" must be \(member.expectedName), not \(what)"))
                slots[member] = -1
            }
        }
        if slots[.id] >= 0 {
            id = view.string(slots[.id])
            if id!.isEmpty { findings.append(Finding(.envelopeEmpty, "/id", "\"id\" is empty; it must tie requests to responses")) }
        }
        if slots[.type] >= 0 {
            type = view.string(slots[.type])
            if type!.isEmpty { findings.append(Finding(.envelopeEmpty, "/type", "\"type\" is empty; it must name the extension")) }
        }
        if slots[.from] >= 0 { checkEntityID(slots[.from], pointer: "/from", ids: &ids, into: &findings) }
        if slots[.to] >= 0 { checkEntityID(slots[.to], pointer: "/to", ids: &ids, into: &findings) }
        let ok: Bool? = slots[.ok] >= 0 ? view[slots[.ok]].kind == .true : nil
        let payload = slots[.payload] >= 0 ? slots[.payload] : nil
        if let type { checkErrorConvention(type: type, ok: ok, payload: payload, into: &findings) }
        if let profile, let type, !type.isEmpty {
            ProfileRules.check(profile, view: view, type: type, payload: payload, into: &findings)
        }
    }

    static func member(_ view: JSONView, _ key: Int) -> Member? {
        view.memberName(key, Member.names)
    }

    func checkEntityID(_ index: Int, pointer: String, ids: inout EntityIDCache, into findings: inout [Finding]) {
        view.withStringBytes(index) { bytes in
            guard !bytes.isEmpty else { return }  // "" means unspecified
            switch ids.validate(bytes) {
            case .success(let info):
                if info.kind == .roomID && !info.roomIDIsUUID {
                    findings.append(Finding(
                        .idRoomNotUUID, pointer,
                        "room id \(quotedExcerpt(bytes)) is not a UUID (the draft says room ids SHOULD be UUIDs)"))
                }
            case .failure(let error):
                findings.append(Finding(.idSyntax, pointer, "\(quotedExcerpt(bytes)) \(error)"))
            }
        }
    }

    func quotedExcerpt(_ bytes: UnsafeRawBufferPointer) -> String {
        JSONString.quoted(JSONReader.abbreviate(String(decoding: bytes, as: UTF8.self)))
    }

    func checkErrorConvention(type: String, ok: Bool?, payload: Int?, into findings: inout [Finding]) {
        switch MessageType(type) {
        case .plain:
            if ok == false {
                findings.append(Finding(
                    .okFalseWithoutError, "/ok", "\"ok\" is false but the type \(JSONString.quoted(type)) is not an :error response"))
            }
            return
        case .bareError:
            findings.append(Finding(.errorBare, "/type", "type \":error\" names no request type before ':error'"))
            return
        case .error:
            break
        }
        if ok == true {
            findings.append(Finding(.errorOkTrue, "/ok", "an error response must not say \"ok\": true"))
        }
        guard let payload else { return }
        var seen: (code: Int?, text: Int?, extra: Int?) = (nil, nil, nil)
        for (key, value) in view.members(payload) {
            if seen.code == nil && view.stringEquals(key, "errCode") { seen.code = value }
            else if seen.text == nil && view.stringEquals(key, "errText") { seen.text = value }
            else if seen.extra == nil && view.stringEquals(key, "errPayload") { seen.extra = value }
        }
        if let code = seen.code {
            let node = view[code]
            if node.kind != .number {
                findings.append(Finding(.errorType, "/payload/errCode", "\"errCode\" must be an integer, not \(node.kind.withArticle)"))
            } else if !node.isInteger {
                findings.append(Finding(
                    .errorType, "/payload/errCode",
                    "\"errCode\" must be an integer written without fraction or exponent, not \(view.rawText(code))"))
            }
        } else {
            findings.append(Finding(.errorMissing, "/payload/errCode", "an error response needs \"errCode\" in its payload"))
        }
        if let text = seen.text {
            if view[text].kind != .string {
                findings.append(Finding(.errorType, "/payload/errText", "\"errText\" must be a string, not \(view[text].kind.withArticle)"))
            }
        } else {
            findings.append(Finding(.errorMissing, "/payload/errText", "an error response needs \"errText\" in its payload"))
        }
        if let extra = seen.extra, view[extra].kind != .object {
            findings.append(Finding(
                .errorType, "/payload/errPayload", "\"errPayload\" must be an object, not \(view[extra].kind.withArticle)"))
        }
    }
}

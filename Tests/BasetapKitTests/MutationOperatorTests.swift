import Foundation
import Testing
@testable import BasetapKit

/// Each mutation operator, applied to a known message, changes it the way its name says.
@Suite struct MutationOperatorTests {
    static let message = ##"{"id":"m1","type":"room.join","from":"@alice@chat.example.org","to":"!abc@chat.example.org:8448","payload":{"members":3}}"##

    static func plan() -> ReplayConnection {
        let records: [CaptureRecord] = {
            var open = CaptureRecord(ts: CaptureTime.now(), conn: "c1", kind: .open)
            open.url = "/"
            return [
                open,
                .text(#"{"id":"login","type":"auth.login","from":"@alice@chat.example.org","to":"chat.example.org","payload":{"password":"x"}}"#, conn: "c1", dir: .c2s),
                .text(#"{"id":"login","type":"auth.login","from":"chat.example.org","to":"","ok":true,"payload":{}}"#, conn: "c1", dir: .s2c),
                .text(message, conn: "c1", dir: .c2s),
                .text(#"{"id":"m1","type":"room.join","from":"chat.example.org","to":"","ok":true,"payload":{}}"#, conn: "c1", dir: .s2c),
            ]
        }()
        return ReplayConnection.plan(records)[0]
    }

    static let target = ProxyTarget(host: "127.0.0.1", port: 9000)

    static func mutator(seed: UInt64, plans: [ReplayConnection] = [plan()], profile: Profile? = nil, families: Set<MutationOperator.Family>? = nil) -> Mutator {
        Mutator(seed: seed, plans: plans, profile: profile, families: families) { plan, key in
            plan.requestHead(target: target, path: nil, extra: [], key: key)
        }
    }

    /// The steps after applying `name` to the room.join message (step 1), over several seeds.
    static func mutated(_ name: String, seed: UInt64, profile: Profile? = nil) -> [ReplayConnection.Step]? {
        let op = Mutator.named(name)!
        let mutator = Self.mutator(seed: seed, profile: profile)
        var steps = plan().steps
        var random = FuzzRandom(seed: seed)
        return mutator.apply(op, to: &steps, at: 1, random: &random) ? steps : nil
    }

    static func payload(_ steps: [ReplayConnection.Step], _ index: Int = 1) -> [UInt8] {
        switch steps[index].action {
        case .message(_, let payload): payload
        case .raw(let bytes): bytes
        default: []
        }
    }

    static func json(_ steps: [ReplayConnection.Step]) -> JSONValue? { try? JSONValue(parsing: payload(steps)) }

    @Test(arguments: Mutator.operators.filter { !$0.family.isLiveOnly }.map(\.name))
    func everyOperatorChangesTheMessageOrTheSession(_ name: String) throws {
        let profile = try Profile.load(path: capturePath("protocol-core.profile.yaml"))
        let original = Self.plan().steps
        for seed in UInt64(1)...8 {
            let steps = try #require(Self.mutated(name, seed: seed, profile: profile), "\(name) applies to a room.join message")
            let same = steps.count == original.count && zip(steps, original).allSatisfy { $0.action == $1.action }
            #expect(!same, "\(name) with seed \(seed) changed nothing")
        }
    }

    @Test func theSameSeedMakesTheSameCase() {
        let a = Self.mutator(seed: 42), b = Self.mutator(seed: 42)
        for index in 0..<50 {
            #expect(a.makeCase(index).plan.steps.map(\.action) == b.makeCase(index).plan.steps.map(\.action))
            #expect(a.makeCase(index).plan.rawHead == b.makeCase(index).plan.rawHead)
            #expect(a.makeCase(index).companions.count == b.makeCase(index).companions.count)
            #expect(a.makeCase(index).ops == b.makeCase(index).ops)
        }
        #expect((0..<50).contains { Self.mutator(seed: 43).makeCase($0).plan.steps.map(\.action) != a.makeCase($0).plan.steps.map(\.action) })
    }

    /// Handshake operators change the upgrade request each names, and a case sends it as changed.
    @Test(arguments: HandshakeOperators.all.map(\.name))
    func everyHandshakeOperatorChangesTheUpgradeRequest(_ name: String) throws {
        guard case .handshake(let change)? = Mutator.named(name)?.work else {
            Issue.record("\(name) is no handshake operator")
            return
        }
        let plain = Self.plan().requestHead(target: Self.target, path: nil, extra: [], key: "dGhlIHNhbXBsZSBub25jZQ==")
            .components(separatedBy: "\r\n").filter { !$0.isEmpty }
        for seed in UInt64(1)...8 {
            var lines = plain
            var random = FuzzRandom(seed: seed)
            #expect(change(&lines, &random) && lines != plain, "\(name) with seed \(seed) changed nothing")
            let head = lines.joined(separator: "\n")
            switch name {
            case "handshake.no-key": #expect(!head.contains("Sec-WebSocket-Key"))
            case "handshake.no-version": #expect(!head.contains("Sec-WebSocket-Version"))
            case "handshake.plain-get": #expect(lines.count == 2 && lines[1].hasPrefix("Host:"))
            case "handshake.http-version": #expect(!lines[0].hasSuffix(" HTTP/1.1"))
            case "handshake.method": #expect(!lines[0].hasPrefix("GET "))
            default: break
            }
        }
        let fuzzCase = try #require((0..<400).lazy.map(Self.mutator(seed: 1, families: [.handshake]).makeCase).first { $0.ops == [name] })
        let sent = String(decoding: try #require(fuzzCase.plan.rawHead), as: UTF8.self)
        #expect(sent.hasSuffix("\r\n\r\n") && fuzzCase.breaksHandshake)
    }

    @Test func churnOperatorsOpenBoundedConnectionsAroundTheCase() throws {
        let mutator = Self.mutator(seed: 2, families: [.churn])
        var seen = Set<String>()
        for index in 0..<100 {
            let fuzzCase = mutator.makeCase(index)
            guard let op = fuzzCase.ops.first else { continue }
            seen.insert(op)
            #expect((4...48).contains(fuzzCase.companions.count), "\(op): \(fuzzCase.companions.count) connections")
            #expect(fuzzCase.plan.steps.contains { $0.id == ReplayConnection.probeID }, "the case's own connection ends with its probe")
            #expect(Set(fuzzCase.companions.map(\.conn)).count == fuzzCase.companions.count)
            if op == "churn.close-mid-message" {
                #expect(fuzzCase.companions.allSatisfy { $0.steps.last?.action == .disconnect })
            }
        }
        #expect(seen == Set(ChurnOperators.all.map(\.name)), "\(seen)")
    }

    /// A value operator on an empty payload adds a member: the container stays a container.
    @Test func valueOperatorsKeepContainers() throws {
        var records = [CaptureRecord(ts: CaptureTime.now(), conn: "c1", kind: .open)]
        records.append(.text(#"{"id":"1","type":"ping","from":"","to":"","payload":{}}"#, conn: "c1", dir: .c2s))
        let plan = ReplayConnection.plan(records)[0]
        for name in ["value.int-boundary", "value.long-string", "value.unicode", "value.deep-nesting"] {
            var steps = plan.steps
            var random = FuzzRandom(seed: 5)
            #expect(Self.mutator(seed: 5, plans: [plan]).apply(Mutator.named(name)!, to: &steps, at: 0, random: &random))
            let payload = Self.payload(steps, 0)
            let text = String(decoding: payload, as: UTF8.self)
            #expect(text.contains(#""payload":{"basetap":"#), "\(name): \(text.prefix(120))")
        }
    }

    @Test func idOperatorsBreakTheNamedPart() throws {
        let ports = Set((1...40).compactMap { seed -> String? in
            let value = Self.json(Self.mutated("id.port", seed: UInt64(seed))!)
            let changed = ["from", "to", "payload"].compactMap { value?[$0] }.flatMap { v -> [String] in
                if case .object(let m) = v { return m.compactMap { $0.value.stringValue } }
                return [v.stringValue].compactMap { $0 }
            }
            return changed.compactMap { $0.split(separator: ":").last.map(String.init) }.first { ["0", "1", "65535", "65536", "99999", "-1", "08080"].contains($0) }
        })
        #expect(ports.contains("65536") && ports.contains("0"), "\(ports)")
        let dropped = Self.json(Self.mutated("id.sigil-drop", seed: 1)!)!
        #expect(["from", "to"].contains { dropped[$0]?.stringValue?.first.map { !"@!#".contains($0) } ?? false })
        let upper = Self.json(Self.mutated("id.local-uppercase", seed: 2)!)!.jsonText
        #expect(upper.contains("X@") || upper.contains("X:"))
        let label = Self.json(Self.mutated("id.long-label", seed: 3)!)!.jsonText
        #expect(label.contains(String(repeating: "a", count: 64) + "."))
    }

    @Test func envelopeOperatorsBreakTheEnvelope() throws {
        // A duplicate key survives serialization: basetap's own reader sees it.
        let duplicate = Self.payload(Self.mutated("envelope.duplicate", seed: 1)!)
        var reader = JSONReader()
        let issues = try duplicate.withUnsafeBytes { bytes in try reader.withParsed(bytes) { _, issues in issues }.get() }
        #expect(!issues.isEmpty)
        #expect(Self.json(Self.mutated("envelope.id-empty", seed: 1)!)?["id"]?.stringValue == "")
        #expect((Self.json(Self.mutated("envelope.id-huge", seed: 1)!)?["id"]?.stringValue?.count ?? 0) >= 4096)
        #expect(Self.json(Self.mutated("envelope.error-bare", seed: 1)!)?["type"]?.stringValue == ":error")
        let forged = Self.json(Self.mutated("envelope.error-ok-true", seed: 1)!)
        #expect(forged?["type"]?.stringValue == "room.join:error" && forged?["ok"] == .bool(true))
        let code = Self.json(Self.mutated("envelope.errcode-type", seed: 1)!)?["payload"]?["errCode"]
        #expect(code?.kind != .number)
    }

    @Test func valueAndSyntaxOperators() throws {
        let deep = Self.payload(Self.mutated("value.deep-nesting", seed: 1)!)
        #expect(deep.filter { $0 == UInt8(ascii: "[") }.count >= 100)
        let long = Self.payload(Self.mutated("value.long-string", seed: 1)!)
        #expect(long.count >= 65536)
        let invalid = Self.payload(Self.mutated("json.invalid-utf8", seed: 1)!)
        #expect(String(validating: invalid, as: UTF8.self) == nil)
        let truncated = Self.payload(Self.mutated("json.truncate", seed: 1)!)
        #expect(truncated.count < Self.message.utf8.count && (try? JSONValue(parsing: truncated)) == nil)
        let unicode = Set((1...16).map { String(decoding: Self.payload(Self.mutated("value.unicode", seed: UInt64($0))!), as: UTF8.self) })
        #expect(unicode.contains { $0.contains(#"\ud800"#) || $0.contains(#"\u0000"#) })
    }

    @Test func frameOperatorsBuildTheFramesTheyName() throws {
        func frames(_ name: String, seed: UInt64 = 1) -> [WebSocketFrame] {
            var parser = FrameParser(maxFrameSize: 1 << 24)
            parser.append(Self.payload(Self.mutated(name, seed: seed)!))
            var out: [WebSocketFrame] = []
            while let frame = try? parser.next() { out.append(frame) }
            return out
        }
        #expect(frames("frame.text-binary").first?.opcode == 2)
        let fragments = frames("frame.fragment")
        #expect(fragments.count >= 2 && fragments.first?.opcode == 1 && fragments.dropFirst().allSatisfy { $0.opcode == 0 } && fragments.last?.fin == true)
        #expect(frames("frame.interleaved-ping").contains { $0.opcode == 9 })
        #expect(frames("frame.rsv-bits").first.map { $0.rsv != 0 } == true)
        #expect(frames("frame.bad-close-code").last?.opcode == 8)
        #expect(frames("frame.oversized").isEmpty, "the announced length never arrives")
        #expect(frames("frame.fragment").allSatisfy { $0.maskKey != nil }, "client frames are masked")
    }

    @Test func sessionOperatorsChangeTheSteps() {
        let original = Self.plan().steps
        #expect(Self.mutated("session.drop", seed: 1)!.count == original.count - 1)
        #expect(Self.mutated("session.repeat", seed: 1)!.count > original.count)
        #expect(Self.mutated("session.skip-first", seed: 1)!.first?.id == "m1")
        let reused = Self.mutated("session.id-reuse", seed: 1)!
        #expect(reused[1].id == "login" && Self.json(reused)?["type"]?.stringValue == "room.join.other")
    }

    @Test func schemaOperatorsSitJustInsideAndJustOutsideTheSchema() throws {
        let profile = try Profile.load(path: capturePath("protocol-core.profile.yaml"))
        let schema = try #require(profile.messages["room.join"]?.payload)
        for seed in UInt64(1)...6 {
            let pass = Self.json(Self.mutated("schema.just-pass", seed: seed, profile: profile)!)!
            let fail = Self.json(Self.mutated("schema.just-fail", seed: seed, profile: profile)!)!
            #expect(schema.failures(pass["payload"]!).isEmpty, "\(pass.jsonText)")
            #expect(!schema.failures(fail["payload"]!).isEmpty, "\(fail.jsonText)")
        }
    }
}

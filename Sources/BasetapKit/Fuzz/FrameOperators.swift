/// Frame mutations (RFC 6455 as PROTOCOL.md §1 uses it) and session mutations (order, repeats,
/// missing first messages, reused ids).
enum FrameOperators {
    static func masked(_ frame: WebSocketFrame, _ random: inout FuzzRandom) -> [UInt8] {
        var frame = frame
        frame.maskKey = FrameEncoder.randomMask(using: &random)
        return FrameEncoder.encode(frame)
    }

    /// `payload` split into `count` text fragments (the first may be empty).
    static func fragments(_ payload: [UInt8], _ count: Int) -> [(fin: Bool, opcode: UInt8, bytes: [UInt8])] {
        let size = max(1, (payload.count + count - 1) / count)
        let chunks = stride(from: 0, to: max(payload.count, 1), by: size).map { Array(payload[$0..<min(payload.count, $0 + size)]) }
        return chunks.enumerated().map { i, chunk in (i == chunks.count - 1, i == 0 ? 1 : 0, chunk) }
    }

    static let all: [MutationOperator] = [
        MutationOperator("frame.text-binary", .frame, .frames { payload, random in
            masked(WebSocketFrame(opcode: .binary, payload: payload), &random)
        }),
        MutationOperator("frame.fragment", .frame, .frames { payload, random in
            let count = random.pick([2, 3, 16, max(2, payload.count)])
            return fragments(payload, count).flatMap { masked(WebSocketFrame(fin: $0.fin, opcode: $0.opcode, payload: $0.bytes), &random) }
        }),
        MutationOperator("frame.interleaved-ping", .frame, .frames { payload, random in
            var out: [UInt8] = []
            for (i, part) in fragments(payload, 3).enumerated() {
                out += masked(WebSocketFrame(fin: part.fin, opcode: part.opcode, payload: part.bytes), &random)
                if i == 0 { out += masked(WebSocketFrame(opcode: .ping, payload: Array("basetap".utf8)), &random) }
            }
            return out
        }),
        MutationOperator("frame.rsv-bits", .frame, .frames { payload, random in
            masked(WebSocketFrame(rsv: random.pick([1, 2, 4, 7]), opcode: .text, payload: payload), &random)
        }),
        MutationOperator("frame.bad-close-code", .frame, .frames { payload, random in
            let code = random.pick([0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
            let close = [UInt8(code >> 8), UInt8(code & 0xFF)] + Array("bad".utf8)
            return masked(WebSocketFrame(opcode: .text, payload: payload), &random) + masked(WebSocketFrame(opcode: .close, payload: close), &random)
        }),
        MutationOperator("frame.oversized", .frame, .frames { payload, random in
            // A header that announces far more than will ever come, then the message.
            let announced: UInt64 = random.pick([1 << 31, 1 << 62, UInt64.max >> 1])
            var header: [UInt8] = [0x81, 0x80 | 127]
            for shift in stride(from: 56, through: 0, by: -8) { header.append(UInt8((announced >> UInt64(shift)) & 0xFF)) }
            return header + [1, 2, 3, 4] + payload
        }),
        MutationOperator("session.reorder", .session, .session { steps, target, random in
            let messages = steps.indices.filter { if case .message = steps[$0].action { true } else { false } }
            guard messages.count > 1 else { return false }
            let other = random.pick(messages.filter { $0 != target })
            steps.swapAt(target, other)
            return true
        }),
        MutationOperator("session.repeat", .session, .session { steps, target, random in
            let times = random.pick([1, 2, 10])
            steps.insert(contentsOf: Array(repeating: steps[target], count: times), at: target)
            return true
        }),
        MutationOperator("session.drop", .session, .session { steps, target, _ in
            steps.remove(at: target)
            return true
        }),
        MutationOperator("session.id-reuse", .session, .session { steps, target, random in
            // The id of another message on a message of another type.
            let ids = steps.compactMap(\.id).filter { $0 != steps[target].id }
            guard case .message(let opcode, let payload) = steps[target].action, let id = ids.isEmpty ? nil : random.pick(ids),
                var value = try? JSONValue(parsing: payload)
            else { return false }
            value[path: [.key("id")]] = .string(id)
            value[path: [.key("type")]] = .string((value["type"]?.stringValue ?? "x") + ".other")
            steps[target].action = .message(opcode: opcode, payload: value.serialized())
            steps[target].id = id
            return true
        }),
        MutationOperator("session.skip-first", .session, .session { steps, _, _ in
            guard let first = steps.firstIndex(where: { if case .message = $0.action { true } else { false } }) else { return false }
            steps.remove(at: first)
            return true
        }),
    ]
}

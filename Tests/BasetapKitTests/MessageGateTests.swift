import NIOCore
import Testing
@testable import BasetapKit

/// A gated direction lets units go in order, each as it came, dropped, replaced, or held.
@Suite struct MessageGateTests {
    private func bytes(_ outputs: [MessageGate.Output]) -> [[UInt8]] {
        outputs.map { output in
            switch output {
            case .original(let buffer, _): Array(buffer.readableBytesView)
            case .replaced(let entry): if case .replace(let frames) = entry.decision { frames } else { [] }
            }
        }
    }

    private func unit(_ end: Int) -> ProxyTap.Unit { ProxyTap.Unit(end: end) }

    @Test func heldUnitsKeepEverythingBehindThemInOrder() {
        var gate = MessageGate(released: 0, position: 0, allocator: ByteBufferAllocator())
        gate.append(ByteBuffer(bytes: [1, 1, 2, 2, 3, 3, 4]))
        gate.add(unit(2), .forward)
        gate.add(unit(4), .hold(7))
        gate.add(unit(6), .forward)
        #expect(bytes(gate.drain()) == [[1, 1]])
        #expect(gate.holds == [7])
        #expect(gate.heldBytes == 5, "the held unit, the one behind it and an unfinished byte")
        let settled = gate.settle(7, .replace([9]))
        let again = gate.settle(7, .drop)
        #expect(settled && !again, "settled once")
        #expect(bytes(gate.drain()) == [[9], [3, 3]])
        #expect(gate.released == 6 && gate.heldBytes == 1)
    }

    @Test func droppedUnitsAreNotSent() {
        var gate = MessageGate(released: 0, position: 0, allocator: ByteBufferAllocator())
        gate.append(ByteBuffer(bytes: [1, 2, 3]))
        gate.add(unit(1), .drop)
        gate.add(unit(3), .forward)
        let out = gate.drain()
        #expect(bytes(out) == [[], [2, 3]])
        if case .replaced(let entry) = out[0] { #expect(entry.decision == .drop) } else { Issue.record("the dropped unit is reported") }
    }

    @Test func anInjectionWaitsForTheEndOfAHalfRelayedMessage() {
        // 5 bytes were relayed byte for byte; the last unit ended at 3: a message is half through.
        var gate = MessageGate(released: 5, position: 3, allocator: ByteBufferAllocator())
        gate.inject([0xAA], ProxyTap.Unit(end: 0, injected: true))
        #expect(gate.drain().isEmpty, "not inside the message")
        gate.append(ByteBuffer(bytes: [6, 7]))
        gate.add(unit(7), .drop)
        #expect(bytes(gate.drain()) == [[6, 7], [0xAA]], "the message's rest goes on as it came (its start is sent), then the injection")
    }

    @Test func anInjectionGoesAheadOfWhatIsHeld() {
        var gate = MessageGate(released: 0, position: 0, allocator: ByteBufferAllocator())
        gate.append(ByteBuffer(bytes: [1, 1, 2]))
        gate.add(unit(2), .hold(1))
        #expect(gate.drain().isEmpty)
        gate.inject([0xAA], ProxyTap.Unit(end: 0, injected: true))
        #expect(bytes(gate.drain()) == [[0xAA]], "sent now, the held message still waits")
        _ = gate.settle(1, .forward)
        #expect(bytes(gate.drain()) == [[1, 1]])
    }

    @Test func openingUpLetsEverythingGoAsItCame() {
        var gate = MessageGate(released: 0, position: 0, allocator: ByteBufferAllocator())
        gate.append(ByteBuffer(bytes: [1, 2, 3, 4]))
        gate.add(unit(2), .hold(1))
        #expect(bytes(gate.openUp()) == [[1, 2], [3, 4]])
        #expect(gate.heldBytes == 0 && gate.released == 4)
    }
}

import Testing
@testable import BasetapKit

/// The error convention of PROTOCOL.md §4, read once for the checker, the chain, profiles and inference.
@Suite struct MessageTypeTests {
    @Test func readsTheErrorConvention() {
        #expect(MessageType("chat.send") == .plain("chat.send"))
        #expect(MessageType("chat.send:error") == .error(answering: "chat.send"))
        #expect(MessageType(":error") == .bareError)
        // Only the last `:error` is the convention's.
        #expect(MessageType("a:error:error") == .error(answering: "a:error"))
        #expect(MessageType("error") == .plain("error"))
        #expect(MessageType("chat.send:Error") == .plain("chat.send:Error"), "the suffix is case-sensitive")
        #expect(MessageType("") == .plain(""))
    }

    @Test func saysWhatItAnswersAndWhetherItIsAnError() {
        #expect(MessageType("room.join").requested == "room.join" && !MessageType("room.join").isError)
        #expect(MessageType("room.join:error").requested == "room.join" && MessageType("room.join:error").isError)
        #expect(MessageType(":error").requested == nil && MessageType(":error").isError)
    }
}

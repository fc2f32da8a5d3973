import Testing
@testable import BasetapKit

@Suite struct ProfileInferenceTests {
    static func infer(_ messages: [String]) -> ProfileInference {
        var inference = ProfileInference()
        for message in messages { inference.observe(Array(message.utf8)) }
        return inference
    }

    static func message(_ type: String, _ payload: String) -> String {
        #"{"id":"1","type":"\#(type)","from":"","to":"","payload":\#(payload)}"#
    }

    @Test func payloadSchemasFromWhatWasSeen() {
        var inference = Self.infer([
            Self.message("chat.send", #"{"room":"a","n":1,"tags":["x"],"mood":"happy"}"#),
            Self.message("chat.send", #"{"room":"b","n":2,"mood":"happy"}"#),
            Self.message("chat.send", #"{"room":"c","n":2.5,"mood":"sad","extra":null}"#),
        ])
        let messages = inference.profile()["extensions"]?["chat"]?["messages"]?["chat.send"]?["payload"]
        #expect(messages?.jsonText == #"{"type":"object","properties":{"#
            + #""room":{"type":"string"},"n":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}},"#
            + #""mood":{"type":"string","enum":["happy","sad"]},"extra":{"type":"null"}},"#
            + #""required":["room","n","mood"],"additionalProperties":false}"#)
        #expect(inference.messages == 3)
    }

    /// A set of values is an enum only when values repeat over at least three samples: three
    /// different rooms are names, not a closed set.
    @Test func enumsOnlyWhereValuesRepeat() {
        var distinct = Self.infer((0..<3).map { Self.message("a.b", #"{"s":"v\#($0)"}"#) })
        #expect(distinct.profile()["extensions"]?["a"]?["messages"]?["a.b"]?["payload"]?["properties"]?["s"]?.jsonText == #"{"type":"string"}"#)
        var many = Self.infer((0..<12).map { Self.message("a.b", #"{"s":"v\#($0 % 6)"}"#) })
        #expect(many.profile()["extensions"]?["a"]?["messages"]?["a.b"]?["payload"]?["properties"]?["s"]?.jsonText == #"{"type":"string"}"#,
                "past five values it is no enum")
        var mixed = Self.infer([Self.message("a.b", #"{"s":1}"#), Self.message("a.b", #"{"s":"x"}"#)])
        #expect(mixed.profile()["extensions"]?["a"]?["messages"]?["a.b"]?["payload"]?["properties"]?["s"]?.jsonText == #"{"type":["integer","string"]}"#)
    }

    @Test func errorCodesBecomeRunsPerExtension() {
        var inference = Self.infer([
            Self.message("room.join", "{}"),
            Self.message("room.join:error", #"{"errCode":404,"errMsg":""}"#),
            Self.message("room.join:error", #"{"errCode":403,"errMsg":""}"#),
            Self.message("room.leave:error", #"{"errCode":409,"errMsg":""}"#),
            Self.message("auth.login:error", #"{"errCode":403,"errMsg":""}"#),
            Self.message("auth.login:error", #"{"errCode":"401","errMsg":""}"#),
            Self.message(":error", #"{"errCode":500,"errMsg":""}"#),
        ])
        let profile = inference.profile()
        #expect(profile["extensions"]?.jsonText == #"{"room":{"errCodes":[[403,404],[409,409]],"messages":{"room.join":{"payload":{"type":"object","properties":{},"additionalProperties":false}}}},"#
            + #""auth":{"messages":{}}}"#)
        #expect(inference.notes == [#"error code 403 was answered for extensions "room" and "auth"; it is kept in "room""#])
        #expect(profile["unknownTypes"] == .string("warning"))
        #expect(inference.messages == 6, "the bare :error is no extension's")
    }

    @Test func whatIsNoMessageIsPassedOver() {
        var inference = Self.infer(["not json", "[1]", #"{"type":""}"#, #"{"type":5}"#, #"{"type":"x.y"}"#])
        #expect(inference.messages == 1)
        #expect(inference.profile()["extensions"]?.jsonText == #"{"x":{"messages":{"x.y":{}}}}"#, "a type seen without a payload")
    }

    @Test func runsOfConsecutiveCodes() {
        #expect(ProfileInference.runs([]).isEmpty)
        #expect(JSONValue.array(ProfileInference.runs([1, 2, 3, 7, 9, 10])).jsonText == "[[1,3],[7,7],[9,10]]")
        #expect(JSONValue.array(ProfileInference.runs([Int64.max - 1, Int64.max])).jsonText == "[[9223372036854775806,9223372036854775807]]")
    }
}

import Testing
@testable import BasetapKit

/// What `--log-messages` hides unless `--log-secrets`.
@Suite struct SecretRedactionTests {
    @Test func credentialsInHeadersQueriesAndJSONMembersAreHidden() {
        #expect(SecretRedaction.header("authorization", "Bearer x") == "[redacted]")
        #expect(SecretRedaction.header("Set-Cookie", "a=b") == "[redacted]")
        #expect(SecretRedaction.header("Host", "example.org") == "example.org")
        #expect(SecretRedaction.target("/ws?room=1&access_token=abc&apiKey=k&x") == "/ws?room=1&access_token=[redacted]&apiKey=[redacted]&x")
        #expect(SecretRedaction.target("/ws") == "/ws")
        let text = #"{"id":"1","payload":{"password" : "p\"w","author":"bob","refreshToken":"t","n":{"secret":3}}}"#
        #expect(SecretRedaction.json(text) == #"{"id":"1","payload":{"password" : "[redacted]","author":"bob","refreshToken":"[redacted]","n":{"secret":3}}}"#)
        #expect(SecretRedaction.json("not json") == "not json")
    }
}

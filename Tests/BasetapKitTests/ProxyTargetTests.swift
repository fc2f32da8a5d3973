import Testing
@testable import BasetapKit

@Suite struct ProxyTargetTests {
    @Test func urlsGiveHostPortSchemeAndPath() throws {
        let plain = try ProxyTarget(url: "ws://example.org/ws?room=1")
        #expect(plain.host == "example.org" && plain.port == 80 && !plain.tls && plain.path == "/ws?room=1")
        #expect(plain.hostHeader == "example.org" && plain.requestTarget == "/ws?room=1")
        let secure = try ProxyTarget(url: "WSS://[2001:db8::1]:8443")
        #expect(secure.host == "2001:db8::1" && secure.port == 8443 && secure.tls && secure.path == "")
        #expect(secure.authority == "[2001:db8::1]:8443" && secure.hostHeader == "[2001:db8::1]:8443" && secure.url == "wss://[2001:db8::1]:8443")
        #expect(try ProxyTarget(url: "https://[::1]").hostHeader == "[::1]", "the scheme's default port is left out of Host")
        #expect(try ProxyTarget(url: "ws://h:9?x=1").requestTarget == "/?x=1", "a query alone is asked of /")
        #expect(try ProxyTarget(url: "ws://h:9/").path == "")
    }

    @Test func whatIsNoTargetIsAUsageErrorNamingTheFlag() {
        #expect(throws: BasetapError.usage("--target must be a ws:// or wss:// URL, not 'ftp://h'")) { try ProxyTarget(url: "ftp://h", flag: "--target") }
        #expect(throws: BasetapError.usage("--upstream: '[' without ']' in '[::1:80'")) { try ProxyTarget(url: "ws://[::1:80") }
        #expect(throws: BasetapError.usage("--upstream: no host in ':80'")) { try ProxyTarget(url: "ws://:80") }
        #expect(throws: BasetapError.usage("--upstream: 'h:0' needs a port from 1 to 65535")) { try ProxyTarget(url: "ws://h:0") }
        #expect(throws: BasetapError.usage("--upstream: 'h:65536' needs a port from 1 to 65535")) { try ProxyTarget(url: "ws://h:65536") }
        #expect(throws: BasetapError.usage("--upstream: 'h:http' needs a port from 1 to 65535")) { try ProxyTarget(url: "ws://h:http") }
    }

    @Test func aListenerMaySayPortZeroAndABareHostNeedsADefault() throws {
        #expect(try ProxyTarget(hostPort: "127.0.0.1:0", defaultPort: nil, flag: "--listen", listening: true).port == 0)
        #expect(throws: BasetapError.usage("--listen: '127.0.0.1' needs a port from 1 to 65535 (or 0 for any free one)")) {
            try ProxyTarget(hostPort: "127.0.0.1", defaultPort: nil, flag: "--listen", listening: true)
        }
        #expect(try ProxyTarget(hostPort: "example.org", defaultPort: 443, flag: "--x").port == 443)
    }
}

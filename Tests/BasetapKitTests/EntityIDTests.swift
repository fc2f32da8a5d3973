import Testing
@testable import BasetapKit

@Suite struct EntityIDTests {
    @Test(arguments: [
        ("#general:chat.example.org", EntityKind.roomAlias),
        ("#a.b_c=d-e/f:x", .roomAlias),
        ("@alice@chat.example.org", .username),
        ("@alice@localhost:8448", .username),
        ("%491701234567:chat.example.org", .msisdn),
        ("%1:x", .msisdn),
        ("%123456789012345:x", .msisdn),
        ("^bob.smith_at_mail.example.com:chat.example.org", .email),
        ("^a_at_b_at_c.example:x", .email),
        ("^Bob+Tag_at_Example.COM:x", .email),
        ("&0b7d5c2e-1a4f-4e8b-9c3d-5f6a7b8c9d0e:x", .messageID),
        ("&0B7D5C2E-1A4F-4E8B-9C3D-5F6A7B8C9D0E:x", .messageID),
        ("!6f1c0a52-8d0e-4c36-9a55-3c2d1b7e0f11@x", .roomID),
        ("!lobby@x", .roomID),
        ("chat.example.org", .server),
        ("Chat-1.Example.ORG:443", .server),
        ("localhost", .server),
        ("192.0.2.1", .server),
        ("255.255.255.255:65535", .server),
        ("0.0.0.0:1", .server),
        ("[::1]", .server),
        ("[::1]:8448", .server),
        ("[2001:db8:0:0:0:0:0:1]", .server),
        ("[2001:DB8::ff00:42:8329]", .server),
        ("[::ffff:192.0.2.1]:80", .server),
        ("[::]", .server),
        ("[1::]", .server),
        ("[1:2:3:4:5:6:7::]", .server),
        ("[1:2:3:4:5:6:1.2.3.4]", .server),
        ("1.2.3.com", .server),
        (String(repeating: "a", count: 63) + ".example", .server),
    ])
    func acceptsValidIDs(id: String, kind: EntityKind) throws {
        let info = try EntityID.validate(id).get()
        #expect(info.kind == kind)
    }

    @Test(arguments: [
        // (id, kind read as, part at fault, words the message must contain)
        ("#:x", EntityKind.roomAlias, EntityIDError.Part.localPart, "empty"),
        ("#General:x", .roomAlias, .localPart, "'G'"),
        ("#gen eral:x", .roomAlias, .localPart, "a space"),
        ("#gen!:x", .roomAlias, .localPart, "'!'"),
        ("#general", .roomAlias, .sigil, "missing ':'"),
        ("#general:", .roomAlias, .host, "empty"),
        ("@@x", .username, .localPart, "empty"),
        ("@Alice@x", .username, .localPart, "'A'"),
        ("@alice", .username, .sigil, "missing '@'"),
        ("@alice:x", .username, .sigil, "missing '@'"),
        ("%+491701234567:x", .msisdn, .localPart, "'+'"),
        ("%1234567890123456:x", .msisdn, .localPart, "16 digits"),
        ("%12ab:x", .msisdn, .localPart, "'a'"),
        ("%:x", .msisdn, .localPart, "empty"),
        ("^bob.example.com:x", .email, .localPart, "_at_"),
        ("^_at_example.com:x", .email, .localPart, "empty"),
        ("^bob smith_at_example.com:x", .email, .localPart, "whitespace"),
        ("^bob@home_at_example.com:x", .email, .localPart, "'@'"),
        ("^bob_at_exa_mple.com:x", .email, .localPart, "'_'"),
        ("^bob_at_:x", .email, .localPart, "empty"),
        ("&not-a-uuid:x", .messageID, .localPart, "UUID"),
        ("&0b7d5c2e1a4f4e8b9c3d5f6a7b8c9d0e:x", .messageID, .localPart, "UUID"),
        ("&0b7d5c2e-1a4f-4e8b-9c3d-5f6a7b8c9d0g:x", .messageID, .localPart, "UUID"),
        ("!Lobby@x", .roomID, .localPart, "'L'"),
        ("!@x", .roomID, .localPart, "empty"),
        ("x:0", .server, .port, "out of range"),
        ("x:65536", .server, .port, "out of range"),
        ("x:99999999999999999999", .server, .port, "out of range"),
        ("x:", .server, .port, "empty"),
        ("x:http", .server, .port, "not a decimal"),
        ("x:+80", .server, .port, "not a decimal"),
        ("x:-1", .server, .port, "not a decimal"),
        ("::1", .server, .host, "brackets"),
        ("2001:db8::1", .server, .host, "brackets"),
        ("[2001:db8::1", .server, .host, "']'"),
        ("[2001:db8:::1]", .server, .host, "empty group"),
        ("[1::2::3]", .server, .host, "more than once"),
        ("[12345::1]", .server, .host, "more than 4"),
        ("[1:2:3:4:5:6:7]", .server, .host, "7 groups"),
        ("[1:2:3:4:5:6:7:8:9]", .server, .host, "9 groups"),
        ("[fe80::1%eth0]", .server, .host, "zone"),
        ("[g::1]", .server, .host, "'g'"),
        ("[::1]x", .server, .host, "after ']'"),
        ("256.1.1.1", .server, .host, "256"),
        ("1.2.3", .server, .host, "3 octets"),
        ("1.2.3.4.5", .server, .host, "5 octets"),
        ("01.2.3.4", .server, .host, "leading zero"),
        (String(repeating: "a", count: 64) + ".example", .server, .host, "64 characters"),
        ("-bad.example", .server, .host, "'-'"),
        ("bad-.example", .server, .host, "'-'"),
        ("exa_mple.org", .server, .host, "'_'"),
        ("example.org.", .server, .host, "empty label"),
        ("a..b", .server, .host, "empty label"),
        (Array(repeating: "abcdefghi", count: 26).joined(separator: "."), .server, .host, "at most 253"),
        ("$foo:x", .server, .sigil, "unknown sigil"),
        ("*", .server, .sigil, "unknown sigil"),
        ("", .server, .host, "empty"),
    ])
    func rejectsInvalidIDsNamingThePart(id: String, kind: EntityKind, part: EntityIDError.Part, words: String) {
        switch EntityID.validate(id) {
        case .success(let info):
            Issue.record("\(id) accepted as \(info.kind)")
        case .failure(let error):
            #expect(error.kind == kind, "\(id): \(error)")
            #expect(error.part == part, "\(id): \(error)")
            #expect(error.description.contains(words), "\(id): \(error)")
        }
    }

    @Test func tellsWhetherARoomIDIsAUUID() throws {
        #expect(try EntityID.validate("!6f1c0a52-8d0e-4c36-9a55-3c2d1b7e0f11@x").get().roomIDIsUUID)
        #expect(try !EntityID.validate("!lobby@x").get().roomIDIsUUID)
    }
}

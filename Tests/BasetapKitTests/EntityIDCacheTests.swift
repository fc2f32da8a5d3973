import Testing
@testable import BasetapKit

@Suite struct EntityIDCacheTests {
    /// Whatever was asked before, the cache answers what `EntityID.validate` answers: valid IDs from
    /// memory, invalid ones checked every time, IDs that share a slot (more than it holds) kept apart.
    @Test func itAlwaysAnswersAsTheCheckItSaves() {
        let fixed = ["@alice@chat.example.org", "@Alice@chat.example.org", "#general:chat.example.org:99999",
                     "!6f1c0a52-8d0e-4c36-9a55-3c2d1b7e0f11@chat.example.org", "!lobby@chat.example.org", "chat.example.org",
                     "192.0.2.1:443", "[2001:db8::1]", "%+15551234567:sms.example.org", "^a.b@mail.example.org", "&m1:x.org",
                     "@bob@" + String(repeating: "a", count: 200) + ".org", "", "@", "x y"]
        let pool = fixed + (0..<3_000).map { "@user\($0)@host\($0 % 7).example.org" } + (0..<500).map { "@User\($0)@x.org" }
        var cache = EntityIDCache()
        var random = FuzzRandom(seed: 99)
        for _ in 0..<40_000 {
            var id = pool[Int(random.next() % UInt64(pool.count))]
            let (expected, cached) = id.withUTF8 { bytes in
                (EntityID.validate(UnsafeRawBufferPointer(bytes)), cache.validate(UnsafeRawBufferPointer(bytes)))
            }
            #expect(cached == expected, "\(id)")
        }
    }
}

import Testing
@testable import BasetapKit

@Suite struct NameTableTests {
    /// A key is looked up in a document as it stands: with eight bytes or more readable from its
    /// start (read at once and masked) and with fewer (read byte by byte), escaped or not.
    private func lookUp(_ key: String) -> [RecordField?] {
        var results: [RecordField?] = []
        for document in [#"{"\#(key)":1,"padding":"........"}"#, #"{"\#(key)":1}"#, #"{"\#(key)":0}"#] {
            var reader = JSONReader()
            let bytes = Array(document.utf8)
            bytes.withUnsafeBytes { raw in
                guard reader.parse(raw) == nil else { return }
                results.append(reader.nodes.withUnsafeBufferPointer { RecordField.lookup(JSONView(bytes: raw, nodes: $0), 1) })
            }
        }
        return results
    }

    @Test func everyNameIsFoundWhereverItStands() {
        for field in RecordField.allCases {
            #expect(lookUp(field.name.description) == [field, field, field], "\(field)")
        }
        #expect(lookUp(#"\u0063onn"#) == [.conn, .conn, .conn])
    }

    @Test func nearMissesAreNoName() {
        // Prefixes, extensions, one byte changed at either end or past the eighth, the empty key.
        for key in ["", "t", "con", "conns", "connn", "Conn", "coNn", "kinds", "subprotocoL", "subprotocols", "extensionz",
                    "mutation2", "mutatio", "\u{7F}", "é", "conné"] {
            #expect(lookUp(key).allSatisfy { $0 == nil }, "\(key)")
        }
    }

    @Test func envelopeMembersAreFoundAndNothingElse() {
        for member in EnvelopeRules.Member.allCases {
            let name = Array(member.name.utf8)
            #expect(name.withUnsafeBytes { EnvelopeRules.Member.names.name($0, readable: $0.count) } == member)
        }
        for other in ["i", "idd", "Type", "payloa", "payloads", "oK"] {
            let name = Array(other.utf8)
            #expect(name.withUnsafeBytes { EnvelopeRules.Member.names.name($0, readable: $0.count) } == nil, "\(other)")
        }
    }
}

import Testing
@testable import BasetapKit

@Suite struct YAMLDocumentTests {
    static func parse(_ text: String) throws -> JSONValue { try YAMLDocument.parse(text, source: "p.yaml") }

    /// A YAML profile gives the JSON profile's value: member order kept, scalars typed as YAML 1.1 does.
    @Test func scalarsAndOrderAreTheJSONProfiles() throws {
        let value = try Self.parse("""
            zeta: 1
            alpha: [true, ~, 2.5, "007", 0x1F, 1_000, 1:30, -1:00:00]
            mid: {a: text, b: 'quoted'}
            """)
        #expect(value.jsonText == #"{"zeta":1,"alpha":[true,null,2.5,"007",31,1000,90,-3600],"mid":{"a":"text","b":"quoted"}}"#)
        #expect(try Self.parse(#"{"json": [1, {"too": null}]}"#).jsonText == #"{"json":[1,{"too":null}]}"#, "JSON is YAML")
    }

    @Test func whatJSONCannotHoldIsAnErrorNamingThePlace() throws {
        let cases: [(String, String)] = [
            ("a: 1\nb: .inf\n", "p.yaml:2:4: .inf is not a JSON number"),
            ("a: 1\n'1': x\n1: y\n", "p.yaml:3:1: duplicate key \"1\""),
            ("a: &x 1\nb: *x\n", "p.yaml:1:4: YAML anchors and aliases are not supported in profiles"),
            ("? [1, 2]\n: v\n", "p.yaml:1:3: mapping keys must be strings"),
            ("n: 1:00:00:00:00:00:00:00:00:00:00:00\n", "p.yaml:1:4: 1:00:00:00:00:00:00:00:00:00:00:00 is out of range for an integer"),
            ("", "p.yaml: the profile is empty"),
        ]
        for (text, expected) in cases {
            do {
                _ = try Self.parse(text)
                Issue.record("accepted \(text.debugDescription): \((try? Self.parse(text))?.jsonText ?? "")")
            } catch let error as BasetapError {
                #expect(error.description == expected, "\(text.debugDescription)")
            }
        }
        do {
            _ = try Self.parse("a: [1, 2\n")
            Issue.record("accepted broken YAML")
        } catch let error as BasetapError {
            #expect(error.description.hasPrefix("p.yaml: not valid YAML or JSON: ") && !error.description.contains("\n"))
        }
    }

    /// Nested aliases would expand a few hundred bytes into a billion values: refused at once.
    @Test func aBillionLaughsIsRefusedAtOnce() {
        var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            let name = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(level)))
            let previous = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(level - 1)))
            text += "\(name): &\(name) [" + Array(repeating: "*" + previous, count: 10).joined(separator: ", ") + "]\n"
        }
        #expect(throws: BasetapError.input(place: "p.yaml:1:4", message: "YAML anchors and aliases are not supported in profiles")) {
            _ = try Self.parse(text)
        }
    }

    @Test func sexagesimalIntegersWithoutOverflow() {
        #expect(YAMLDocument.sexagesimal("1:30") == 90)
        #expect(YAMLDocument.sexagesimal("-1:0:0") == -3600)
        #expect(YAMLDocument.sexagesimal("+1_0:00") == 600)
        #expect(YAMLDocument.sexagesimal("1:x") == nil)
        #expect(YAMLDocument.sexagesimal(String(repeating: "59:", count: 20) + "59") == nil)
    }
}

import Testing
@testable import BasetapKit

@Suite struct SchemaValidatorTests {
    static func failures(_ schema: String, _ instance: String) throws -> [String] {
        let validator = SchemaValidator(try SchemaCompiler.compile(try JSONValue(parsing: schema)))
        return validator.failures(try JSONValue(parsing: instance)).map { "\($0.keyword) \($0.pointer)" }
    }

    /// Member names are code points: "é" written precomposed and as "e" with a combining accent are
    /// different names (Swift's String equality would call them equal). Small objects are searched,
    /// objects of more than sixteen members indexed: both say the same.
    @Test func requiredNamesAreComparedAsCodePoints() throws {
        let schema = #"{"required":["é","a\u0000b"],"dependentRequired":{"é":["x"]}}"#
        let filler = (0..<20).map { "\"m\($0)\":0" }
        for extra in [[], filler] {
            let members = { (names: [String]) in "{" + (names + extra).joined(separator: ",") + "}" }
            #expect(try Self.failures(schema, members([#""e\u0301":1"#, #""a\u0000b":1"#])) == ["required "])
            #expect(try Self.failures(schema, members([#""\u00e9":1"#, #""a\u0000b":1"#])) == ["dependentRequired "])
            #expect(try Self.failures(schema, members([#""é":1"#, #""a\u0000b":1"#, #""x":1"#])) == [])
            #expect(try Self.failures(schema, members([#""ab":1"#])) == ["required ", "required "])
        }
    }
}

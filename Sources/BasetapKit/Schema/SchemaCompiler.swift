import Foundation

/// Why a schema cannot be used: where in the schema document, and what is wrong.
public struct SchemaError: Error, Sendable, Equatable {
    public var pointer: String
    public var message: String
}

/// Compiles a JSON Schema (draft 2020-12, the keywords PROTOCOL.md §6 lists and their common
/// companions) into a `CompiledSchema`. Unknown keywords and bad regexes are errors, so that a
/// misspelt keyword does not silently accept everything.
public struct SchemaCompiler {
    static let annotations: Set<String> = [
        "$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly",
        "writeOnly", "contentMediaType", "contentEncoding", "$defs", "definitions",
    ]

    private let document: JSONValue
    private var nodes: [SchemaNode] = []
    /// Compiled subschemas by their pointer in the document, so that `$ref`s share them.
    private var byPointer: [String: Int] = [:]
    private var pendingRefs: [(node: Int, target: String, at: String)] = []

    private init(document: JSONValue) {
        self.document = document
    }

    public static func compile(_ document: JSONValue) throws(SchemaError) -> CompiledSchema {
        var compiler = SchemaCompiler(document: document)
        let root = try compiler.compile(document, at: "")
        try compiler.resolveRefs()
        return CompiledSchema(nodes: compiler.nodes, root: root)
    }

    private mutating func compile(_ schema: JSONValue, at pointer: String) throws(SchemaError) -> Int {
        if let existing = byPointer[pointer] { return existing }
        let index = nodes.count
        nodes.append(SchemaNode())
        byPointer[pointer] = index
        switch schema {
        case .bool(let accept):
            nodes[index].rejectsAll = !accept
            return index
        case .object(let members):
            var node = SchemaNode()
            for member in members {
                try compileKeyword(
                    member.key, member.value, into: &node, index: index, at: JSONPointer.appending(pointer, member.key))
            }
            nodes[index] = node
            return index
        default:
            throw SchemaError(pointer: pointer, message: "a schema must be an object or a boolean, not \(schema.kind.withArticle)")
        }
    }

    private mutating func compileKeyword(
        _ keyword: String, _ value: JSONValue, into node: inout SchemaNode, index: Int, at pointer: String
    ) throws(SchemaError) {
        func fail(_ message: String) -> SchemaError { SchemaError(pointer: pointer, message: message) }
        func count() throws(SchemaError) -> Int {
            // 2.0 is an integer in JSON Schema.
            guard case .number(let text) = value, let d = Double(text), d >= 0, d == d.rounded(), d < 1e15 else {
                throw fail("\(keyword) must be a non-negative integer")
            }
            return Int(d)
        }
        func number() throws(SchemaError) -> JSONNumber {
            guard case .number(let text) = value, let n = JSONNumber(text) else { throw fail("\(keyword) must be a number") }
            return n
        }
        func schemaArray() throws(SchemaError) -> [Int] {
            guard case .array(let elements) = value, !elements.isEmpty else {
                throw fail("\(keyword) must be a non-empty array of schemas")
            }
            var result: [Int] = []
            for (i, element) in elements.enumerated() {
                result.append(try compile(element, at: JSONPointer.appending(pointer, i)))
            }
            return result
        }
        func schemaMap() throws(SchemaError) -> [(String, Int)] {
            guard case .object(let members) = value else { throw fail("\(keyword) must be an object of schemas") }
            var result: [(String, Int)] = []
            for member in members {
                result.append((member.key, try compile(member.value, at: JSONPointer.appending(pointer, member.key))))
            }
            return result
        }
        func stringArray() throws(SchemaError) -> [String] {
            guard case .array(let elements) = value else { throw fail("\(keyword) must be an array of strings") }
            var result: [String] = []
            for element in elements {
                guard case .string(let s) = element else { throw fail("\(keyword) must be an array of strings") }
                result.append(s)
            }
            return result
        }
        func regex(_ source: String, at where_: String) throws(SchemaError) -> SchemaPattern {
            do {
                return SchemaPattern(source: source, regex: try NSRegularExpression(pattern: source))
            } catch {
                throw SchemaError(pointer: where_, message: "pattern \(JSONString.quoted(source)) is not a valid regular expression")
            }
        }

        switch keyword {
        case "type":
            var set = JSONTypeSet()
            let names: [JSONValue]
            if case .array(let list) = value { names = list } else { names = [value] }
            for name in names {
                guard case .string(let s) = name, let type = JSONTypeSet.names.first(where: { $0.0 == s })?.1 else {
                    throw fail("type must name null, boolean, object, array, number, string or integer")
                }
                set.insert(type)
            }
            node.types = set
        case "enum":
            guard case .array(let values) = value else { throw fail("enum must be an array") }
            node.enumValues = values
        case "const": node.constValue = value
        case "$ref":
            guard case .string(let target) = value else { throw fail("$ref must be a string") }
            guard target.hasPrefix("#") else {
                throw fail("$ref \(JSONString.quoted(target)) is not supported: only references within the schema (\"#/...\") are")
            }
            // Resolved once the whole document is compiled: the target may not be compiled yet.
            pendingRefs.append((index, target, pointer))
        case "properties":
            for (name, index) in try schemaMap() { node.properties[name] = index }
        case "patternProperties":
            guard case .object(let members) = value else { throw fail("patternProperties must be an object of schemas") }
            for member in members {
                let at = JSONPointer.appending(pointer, member.key)
                node.patternProperties.append((try regex(member.key, at: at), try compile(member.value, at: at)))
            }
        case "additionalProperties": node.additionalProperties = try compile(value, at: pointer)
        case "propertyNames": node.propertyNames = try compile(value, at: pointer)
        case "required": node.required = try stringArray()
        case "minProperties": node.minProperties = try count()
        case "maxProperties": node.maxProperties = try count()
        case "dependentRequired":
            guard case .object(let members) = value else { throw fail("dependentRequired must be an object of string arrays") }
            for member in members {
                guard case .array(let names) = member.value else { throw fail("dependentRequired must be an object of string arrays") }
                node.dependentRequired.append((member.key, names.compactMap(\.stringValue)))
            }
        case "dependentSchemas": node.dependentSchemas = try schemaMap()
        case "prefixItems": node.prefixItems = try schemaArray()
        case "items":
            if case .array = value { throw fail("items must be a single schema in draft 2020-12 (use prefixItems for tuples)") }
            node.items = try compile(value, at: pointer)
        case "contains": node.contains = try compile(value, at: pointer)
        case "minContains": node.minContains = try count()
        case "maxContains": node.maxContains = try count()
        case "minItems": node.minItems = try count()
        case "maxItems": node.maxItems = try count()
        case "uniqueItems":
            guard case .bool(let b) = value else { throw fail("uniqueItems must be a boolean") }
            node.uniqueItems = b
        case "minLength": node.minLength = try count()
        case "maxLength": node.maxLength = try count()
        case "pattern":
            guard case .string(let source) = value else { throw fail("pattern must be a string") }
            node.pattern = try regex(source, at: pointer)
        case "format":
            guard case .string(let name) = value else { throw fail("format must be a string") }
            node.format = EntityFormat(rawValue: name)
        case "minimum": node.minimum = try number()
        case "maximum": node.maximum = try number()
        case "exclusiveMinimum": node.exclusiveMinimum = try number()
        case "exclusiveMaximum": node.exclusiveMaximum = try number()
        case "multipleOf":
            let n = try number()
            guard n.double > 0 else { throw fail("multipleOf must be greater than 0") }
            node.multipleOf = n
        case "allOf": node.allOf = try schemaArray()
        case "anyOf": node.anyOf = try schemaArray()
        case "oneOf": node.oneOf = try schemaArray()
        case "not": node.not = try compile(value, at: pointer)
        case "if":
            let condition = try compile(value, at: pointer)
            node.ifThenElse = (condition, node.ifThenElse?.then, node.ifThenElse?.else)
        case "then", "else":
            let branch = try compile(value, at: pointer)
            var ite = node.ifThenElse ?? (-1, nil, nil)
            if keyword == "then" { ite.then = branch } else { ite.else = branch }
            node.ifThenElse = ite
        case "$defs", "definitions":
            _ = try schemaMap()
        default:
            if Self.annotations.contains(keyword) { return }
            throw fail("unknown keyword \(JSONString.quoted(keyword))")
        }
    }

    private mutating func resolveRefs() throws(SchemaError) {
        var i = 0
        while i < pendingRefs.count {
            let (node, target, at) = pendingRefs[i]
            let path = String(target.dropFirst()).removingPercentEncoding ?? String(target.dropFirst())
            guard path.isEmpty || path.hasPrefix("/") else {
                throw SchemaError(pointer: at, message: "$ref \(JSONString.quoted(target)) is not a JSON pointer (anchors are not supported)")
            }
            var value = document
            for token in JSONPointer.tokens(path) {
                switch value {
                case .object(let members) where members.contains(where: { $0.key == token }):
                    value = members.first { $0.key == token }!.value
                case .array(let elements) where Int(token).map({ $0 >= 0 && $0 < elements.count }) == true:
                    value = elements[Int(token)!]
                default:
                    throw SchemaError(pointer: at, message: "$ref \(JSONString.quoted(target)) points at nothing")
                }
            }
            nodes[node].ref = try compile(value, at: path)
            i += 1
        }
    }
}

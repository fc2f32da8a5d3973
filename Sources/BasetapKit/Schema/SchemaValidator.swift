import Foundation

/// One place where an instance fails its schema.
public struct SchemaFailure: Sendable, Equatable {
    /// Pointer of the failing value, relative to the validated value.
    public var pointer: String
    public var keyword: String
    public var message: String
}

/// Validates parsed documents against a `CompiledSchema`, reporting every failing member.
/// Works on the reader's tape, so a payload is never turned into values to be checked.
public struct SchemaValidator: Sendable {
    static let maxDepth = 256

    public let schema: CompiledSchema

    public init(_ schema: CompiledSchema) {
        self.schema = schema
    }

    /// Failures of `node` (a tape index of `view`) against the whole schema.
    public func failures(_ view: JSONView, _ node: Int) -> [SchemaFailure] {
        var run = Run(schema: schema, view: view, collect: true)
        _ = run.validate(node, schema.root, depth: 0)
        return run.failures
    }

    /// Validates a value (tests, profile inference): parses its serialization.
    public func failures(_ value: JSONValue) -> [SchemaFailure] {
        var reader = JSONReader()
        let bytes = value.serialized()
        return bytes.withUnsafeBytes { raw in
            (try? reader.withParsed(raw) { view, _ in failures(view, 0) }.get()) ?? []
        }
    }

    private enum Token {
        case key(Int)
        case index(Int)
    }

    private struct Run {
        let schema: CompiledSchema
        let view: JSONView
        /// When false, stop at the first failure and record nothing (for anyOf, oneOf, not, if, contains).
        let collect: Bool
        var failures: [SchemaFailure] = []
        var path: [Token] = []

        init(schema: CompiledSchema, view: JSONView, collect: Bool) {
            self.schema = schema
            self.view = view
            self.collect = collect
        }

        mutating func fail(_ keyword: String, _ message: String) -> Bool {
            if collect {
                let pointer = path.reduce(into: "") { result, token in
                    switch token {
                    case .key(let k): result = JSONPointer.appending(result, view.string(k))
                    case .index(let i): result = JSONPointer.appending(result, i)
                    }
                }
                failures.append(SchemaFailure(pointer: pointer, keyword: keyword, message: "\(keyword): \(message)"))
            }
            return false
        }

        /// Whether `node` passes `schemaIndex`, without recording anything.
        func passes(_ node: Int, _ schemaIndex: Int, depth: Int) -> Bool {
            var probe = Run(schema: schema, view: view, collect: false)
            return probe.validate(node, schemaIndex, depth: depth)
        }

        mutating func validate(_ node: Int, _ schemaIndex: Int, depth: Int) -> Bool {
            let s = schema.nodes[schemaIndex]
            guard depth < SchemaValidator.maxDepth else {
                return fail("$ref", "the schema refers to itself without end")
            }
            if s.rejectsAll { return fail("false", "no value is allowed here") }
            var ok = true
            let kind = view[node].kind

            if let types = s.types, !Self.matches(types, view, node) {
                ok = fail("type", "expected \(types.description), found \(describeKind(node))")
                if !collect { return false }
            }
            if let constValue = s.constValue, !JSONEquality.equal(JSONValue(view, node), constValue) {
                ok = fail("const", "must be \(JSONReader.abbreviate(constValue.jsonText))")
                if !collect { return false }
            }
            if let values = s.enumValues {
                let value = JSONValue(view, node)
                if !values.contains(where: { JSONEquality.equal(value, $0) }) {
                    let list = values.prefix(8).map { JSONReader.abbreviate($0.jsonText, limit: 20) }.joined(separator: ", ")
                    ok = fail("enum", "\(JSONReader.abbreviate(value.jsonText, limit: 40)) is not one of \(list)\(values.count > 8 ? ", …" : "")")
                    if !collect { return false }
                }
            }
            if let ref = s.ref, !validate(node, ref, depth: depth + 1) {
                ok = false
                if !collect { return false }
            }
            switch kind {
            case .object: if !validateObject(node, s, depth: depth) { ok = false }
            case .array: if !validateArray(node, s, depth: depth) { ok = false }
            case .string: if !validateString(node, s) { ok = false }
            case .number: if !validateNumber(node, s) { ok = false }
            default: break
            }
            if !ok && !collect { return false }
            for sub in s.allOf where !validate(node, sub, depth: depth + 1) {
                ok = false
                if !collect { return false }
            }
            if !s.anyOf.isEmpty && !s.anyOf.contains(where: { passes(node, $0, depth: depth + 1) }) {
                ok = fail("anyOf", "matches none of the \(s.anyOf.count) alternatives")
                if !collect { return false }
            }
            if !s.oneOf.isEmpty {
                let matching = s.oneOf.filter { passes(node, $0, depth: depth + 1) }.count
                if matching != 1 {
                    ok = fail("oneOf", matching == 0 ? "matches none of the \(s.oneOf.count) alternatives" : "matches \(matching) alternatives, exactly one is allowed")
                    if !collect { return false }
                }
            }
            if let not = s.not, passes(node, not, depth: depth + 1) {
                ok = fail("not", "matches a schema it must not match")
                if !collect { return false }
            }
            if let ite = s.ifThenElse, ite.condition >= 0 {
                let branch = passes(node, ite.condition, depth: depth + 1) ? ite.then : ite.else
                if let branch, !validate(node, branch, depth: depth + 1) { ok = false }
            }
            return ok
        }

        func describeKind(_ node: Int) -> String {
            let n = view[node]
            if n.kind == .number { return n.isInteger ? "an integer" : "a number" }
            return n.kind.withArticle
        }

        static func matches(_ types: JSONTypeSet, _ view: JSONView, _ node: Int) -> Bool {
            switch view[node].kind {
            case .null: return types.contains(.null)
            case .true, .false: return types.contains(.boolean)
            case .object: return types.contains(.object)
            case .array: return types.contains(.array)
            case .string: return types.contains(.string)
            case .number:
                if types.contains(.number) { return true }
                guard types.contains(.integer) else { return false }
                if view[node].isInteger { return true }
                let d = numberValue(view, node)
                return d.isFinite && d == d.rounded()
            }
        }

        static func numberValue(_ view: JSONView, _ node: Int) -> Double {
            let raw = view.rawBytes(node)
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: raw.count + 1) { buffer in
                for i in 0..<raw.count { buffer[i] = CChar(bitPattern: raw[i]) }
                buffer[raw.count] = 0
                return strtod(buffer.baseAddress!, nil)
            }
        }

        /// minProperties/maxProperties, minItems/maxItems, minLength/maxLength.
        mutating func bounds(_ count: Int, _ min: Int?, _ max: Int?, _ keywords: (String, String), _ noun: String) -> Bool {
            if let min, count < min { return fail(keywords.0, "\(count) \(noun), at least \(min) required") }
            if let max, count > max { return fail(keywords.1, "\(count) \(noun), at most \(max) allowed") }
            return true
        }

        mutating func validateObject(_ node: Int, _ s: SchemaNode, depth: Int) -> Bool {
            var ok = bounds(Int(view[node].count), s.minProperties, s.maxProperties, ("minProperties", "maxProperties"), "members")
            if !ok && !collect { return false }
            // Names are compared as the bytes they are (JSON Schema compares code points, not
            // canonically equivalent strings); a small object is searched, a large one indexed.
            var index: Set<[UInt8]>?
            if view[node].count > 16 && (!s.required.isEmpty || !s.dependentRequired.isEmpty || !s.dependentSchemas.isEmpty) {
                index = Set(view.members(node).map { view.stringBytes($0.key) })
            }
            let names = MemberNames(view: view, object: node, index: index)
            for name in s.required where !names.contains(name) {
                ok = fail("required", "required member \(JSONString.quoted(name)) is missing")
                if !collect { return false }
            }
            for (name, needed) in s.dependentRequired where names.contains(name) {
                for other in needed where !names.contains(other) {
                    ok = fail("dependentRequired", "\(JSONString.quoted(other)) is required when \(JSONString.quoted(name)) is present")
                    if !collect { return false }
                }
            }
            for (name, sub) in s.dependentSchemas where names.contains(name) {
                if !validate(node, sub, depth: depth + 1) { ok = false; if !collect { return false } }
            }
            let needsMembers = !s.properties.isEmpty || !s.patternProperties.isEmpty || s.additionalProperties != nil
                || s.propertyNames != nil
            guard needsMembers else { return ok }
            for (key, value) in view.members(node) {
                let name = view.string(key)
                path.append(.key(key))
                defer { path.removeLast() }
                if let names = s.propertyNames, !passes(key, names, depth: depth + 1) {
                    ok = fail("propertyNames", "member name \(JSONString.quoted(name)) is not allowed")
                    if !collect { return false }
                }
                var matched = false
                if let sub = s.properties[name] {
                    matched = true
                    if !validate(value, sub, depth: depth + 1) { ok = false; if !collect { return false } }
                }
                for (pattern, sub) in s.patternProperties where pattern.matches(name) {
                    matched = true
                    if !validate(value, sub, depth: depth + 1) { ok = false; if !collect { return false } }
                }
                if !matched, let extra = s.additionalProperties {
                    if schema.nodes[extra].rejectsAll {
                        ok = fail("additionalProperties", "member \(JSONString.quoted(name)) is not allowed")
                        if !collect { return false }
                    } else if !validate(value, extra, depth: depth + 1) {
                        ok = false
                        if !collect { return false }
                    }
                }
            }
            return ok
        }

        mutating func validateArray(_ node: Int, _ s: SchemaNode, depth: Int) -> Bool {
            let count = Int(view[node].count)
            var ok = bounds(count, s.minItems, s.maxItems, ("minItems", "maxItems"), "items")
            if !ok && !collect { return false }
            if s.uniqueItems && count > 1 {
                let values = view.elements(node).map { JSONValue(view, $0) }
                outer: for b in 1..<values.count {
                    for a in 0..<b where JSONEquality.equal(values[a], values[b]) {
                        ok = fail("uniqueItems", "items \(a) and \(b) are equal")
                        if !collect { return false }
                        break outer
                    }
                }
            }
            var containsCount = 0
            for (i, element) in view.elements(node).enumerated() {
                path.append(.index(i))
                defer { path.removeLast() }
                let sub = i < s.prefixItems.count ? s.prefixItems[i] : s.items
                if let sub, !validate(element, sub, depth: depth + 1) {
                    ok = false
                    if !collect { return false }
                }
                if let contains = s.contains, passes(element, contains, depth: depth + 1) { containsCount += 1 }
            }
            if s.contains != nil {
                let min = s.minContains ?? 1
                if containsCount < min {
                    ok = fail("contains", "\(containsCount) items match the contains schema, at least \(min) required")
                } else if let max = s.maxContains, containsCount > max {
                    ok = fail("maxContains", "\(containsCount) items match the contains schema, at most \(max) allowed")
                }
            }
            return ok
        }

        mutating func validateString(_ node: Int, _ s: SchemaNode) -> Bool {
            var ok = true
            if s.minLength != nil || s.maxLength != nil {
                // Length in Unicode code points: every byte that does not continue a UTF-8 sequence starts one.
                let length = view.withStringBytes(node) { bytes in bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
                ok = bounds(length, s.minLength, s.maxLength, ("minLength", "maxLength"), "characters")
            }
            if let pattern = s.pattern, !pattern.matches(view.string(node)) {
                ok = fail("pattern", "does not match \(JSONString.quoted(pattern.source))")
            }
            if let format = s.format {
                let result = view.withStringBytes(node) { EntityID.validate($0) }
                switch result {
                case .success(let info) where !format.accepts(info.kind):
                    ok = fail("format", "a \(info.kind.rawValue) where a \(format.rawValue) is required")
                case .failure(let error):
                    ok = fail("format", "not a valid \(format.rawValue): \(error)")
                default: break
                }
            }
            return ok
        }

        mutating func validateNumber(_ node: Int, _ s: SchemaNode) -> Bool {
            guard s.minimum != nil || s.maximum != nil || s.exclusiveMinimum != nil || s.exclusiveMaximum != nil
                || s.multipleOf != nil
            else { return true }
            var ok = true
            let text = view.rawText(node)
            let value = Self.numberValue(view, node)
            if let min = s.minimum, value < min.double { ok = fail("minimum", "\(text) is less than \(min.text)") }
            if let max = s.maximum, value > max.double { ok = fail("maximum", "\(text) is greater than \(max.text)") }
            if let min = s.exclusiveMinimum, value <= min.double { ok = fail("exclusiveMinimum", "\(text) is not greater than \(min.text)") }
            if let max = s.exclusiveMaximum, value >= max.double { ok = fail("exclusiveMaximum", "\(text) is not less than \(max.text)") }
            if let divisor = s.multipleOf, let number = JSONNumber(text), !number.isMultiple(of: divisor) {
                ok = fail("multipleOf", "\(text) is not a multiple of \(divisor.text)")
            }
            return ok
        }
    }
}

/// JSON equality as JSON Schema defines it: numbers by value, objects regardless of member order.
enum JSONEquality {
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        // By code points: Swift's == would call composed and decomposed accents equal.
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.number(let x), .number(let y)):
            if x == y { return true }
            guard let p = JSONNumber(x), let q = JSONNumber(y) else { return false }
            if let dp = p.decimal, let dq = q.decimal { return dp == dq }
            return p.double == q.double
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            return x.allSatisfy { member in
                y.contains { $0.key.utf8.elementsEqual(member.key.utf8) && equal($0.value, member.value) }
            }
        default:
            return false
        }
    }
}

/// The member names of an object, asked one name at a time.
private struct MemberNames {
    let view: JSONView
    let object: Int
    let index: Set<[UInt8]>?

    func contains(_ name: String) -> Bool {
        if let index { return index.contains(Array(name.utf8)) }
        var name = name
        return name.withUTF8 { wanted in
            view.members(object).contains { key, _ in
                view.withStringBytes(key) { ByteCompare.equal($0, UnsafeRawBufferPointer(wanted)) }
            }
        }
    }
}

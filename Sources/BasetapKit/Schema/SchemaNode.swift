import Foundation

/// The JSON types a `type` keyword can name, as a bit set.
struct JSONTypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = JSONTypeSet(rawValue: 1)
    static let boolean = JSONTypeSet(rawValue: 2)
    static let object = JSONTypeSet(rawValue: 4)
    static let array = JSONTypeSet(rawValue: 8)
    static let number = JSONTypeSet(rawValue: 16)
    static let string = JSONTypeSet(rawValue: 32)
    static let integer = JSONTypeSet(rawValue: 64)

    static let names: [(String, JSONTypeSet)] = [
        ("null", .null), ("boolean", .boolean), ("object", .object), ("array", .array), ("number", .number),
        ("string", .string), ("integer", .integer),
    ]

    var description: String {
        Self.names.filter { contains($0.1) }.map(\.0).joined(separator: " or ")
    }
}

/// A compiled regular expression with its source, for messages.
struct SchemaPattern: @unchecked Sendable {
    let source: String
    let regex: NSRegularExpression

    func matches(_ string: String) -> Bool {
        regex.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
    }
}

/// One compiled (sub)schema. Subschemas are referred to by index into `CompiledSchema.nodes`,
/// which lets `$ref` cycles exist without reference cycles.
///
/// A class: validating reads a node for every value, and a struct of this many collections
/// would be copied, each of them retained and released, every time. Only the compiler changes a
/// node, before the schema is shared; from then on nodes are only read, from any thread.
final class SchemaNode: @unchecked Sendable {
    /// `false` (or a schema that can never pass).
    var rejectsAll = false
    var types: JSONTypeSet?
    var enumValues: [JSONValue]?
    var constValue: JSONValue?
    var ref: Int?

    var properties: [String: Int] = [:]
    var patternProperties: [(SchemaPattern, Int)] = []
    var additionalProperties: Int?
    var propertyNames: Int?
    var required: [String] = []
    var minProperties: Int?
    var maxProperties: Int?
    var dependentRequired: [(String, [String])] = []
    var dependentSchemas: [(String, Int)] = []

    var prefixItems: [Int] = []
    var items: Int?
    var contains: Int?
    var minContains: Int?
    var maxContains: Int?
    var minItems: Int?
    var maxItems: Int?
    var uniqueItems = false

    var minLength: Int?
    var maxLength: Int?
    var pattern: SchemaPattern?
    var format: EntityFormat?

    var minimum: JSONNumber?
    var maximum: JSONNumber?
    var exclusiveMinimum: JSONNumber?
    var exclusiveMaximum: JSONNumber?
    var multipleOf: JSONNumber?

    var allOf: [Int] = []
    var anyOf: [Int] = []
    var oneOf: [Int] = []
    var not: Int?
    var ifThenElse: (condition: Int, then: Int?, else: Int?)?

    init() {}
}

/// The `format` values PROTOCOL.md §6 asserts: Entity ID kinds (§3). Other formats are annotations.
enum EntityFormat: String, Sendable, CaseIterable {
    case entityID = "entity-id"
    case userID = "user-id"
    case roomID = "room-id"
    case roomAlias = "room-alias"
    case messageID = "message-id"
    case server = "server"

    func accepts(_ kind: EntityKind) -> Bool {
        switch self {
        case .entityID: true
        case .userID: kind == .username || kind == .msisdn || kind == .email
        case .roomID: kind == .roomID
        case .roomAlias: kind == .roomAlias
        case .messageID: kind == .messageID
        case .server: kind == .server
        }
    }
}

/// A JSON number kept both as a double (for ordering) and as its literal (for exact `multipleOf`).
struct JSONNumber: Sendable {
    let double: Double
    let decimal: Decimal?

    init?(_ literal: String) {
        guard let double = Double(literal) else { return nil }
        self.double = double
        // Decimal keeps 38 digits: enough for exact multipleOf on the numbers people write.
        decimal = literal.count <= 38 ? Decimal(string: literal, locale: Locale(identifier: "en_US_POSIX")) : nil
    }

    var text: String {
        double == double.rounded() && abs(double) < 1e15 ? String(Int64(double)) : String(double)
    }

    /// Whether `self` is an integer multiple of `divisor`.
    func isMultiple(of divisor: JSONNumber) -> Bool {
        if let a = decimal, let b = divisor.decimal, b != 0, a.exponent > -30, b.exponent > -30 {
            var quotient = a / b
            var rounded = Decimal()
            NSDecimalRound(&rounded, &quotient, 0, .plain)
            return rounded == quotient
        }
        let q = double / divisor.double
        return q.isFinite && q == q.rounded()
    }
}

/// A schema compiled once at load: validation never re-reads the schema document.
public struct CompiledSchema: Sendable {
    var nodes: [SchemaNode]
    var root: Int
}

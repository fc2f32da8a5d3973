/// Addressing inside a value, for operators that change one member or leaf of a message.
extension JSONValue {
    enum Step: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    /// Paths (from this value) to every value for which `include` is true, depth first.
    func paths(where include: (JSONValue) -> Bool) -> [[Step]] {
        var found: [[Step]] = []
        func visit(_ value: JSONValue, _ path: [Step]) {
            if include(value) { found.append(path) }
            switch value {
            case .object(let members): for member in members { visit(member.value, path + [.key(member.key)]) }
            case .array(let elements): for (i, element) in elements.enumerated() { visit(element, path + [.index(i)]) }
            default: break
            }
        }
        visit(self, [])
        return found
    }

    subscript(path path: [Step]) -> JSONValue? {
        get {
            var value: JSONValue? = self
            for step in path {
                switch (value, step) {
                case (.object(let members)?, .key(let key)): value = members.first { $0.key == key }?.value
                case (.array(let elements)?, .index(let i)) where i < elements.count: value = elements[i]
                default: return nil
                }
            }
            return value
        }
        set {
            guard let step = path.first else {
                if let newValue { self = newValue }
                return
            }
            let rest = Array(path.dropFirst())
            switch (self, step) {
            case (.object(var members), .key(let key)):
                guard let i = members.firstIndex(where: { $0.key == key }) else {
                    if rest.isEmpty, let newValue { members.append(Member(key, newValue)) }
                    self = .object(members)
                    return
                }
                if rest.isEmpty && newValue == nil {
                    members.remove(at: i)
                } else {
                    members[i].value[path: rest] = newValue
                }
                self = .object(members)
            case (.array(var elements), .index(let i)) where i < elements.count:
                if rest.isEmpty && newValue == nil { elements.remove(at: i) } else { elements[i][path: rest] = newValue }
                self = .array(elements)
            default:
                break
            }
        }
    }

    var isLeaf: Bool {
        switch self {
        case .object, .array: false
        default: true
        }
    }
}

/// One value for each direction of a connection: counters, parsers, windows, flags.
public struct PerDirection<Value> {
    public var c2s: Value
    public var s2c: Value

    public init(c2s: Value, s2c: Value) {
        self.c2s = c2s
        self.s2c = s2c
    }

    public init(repeating value: Value) {
        self.init(c2s: value, s2c: value)
    }

    public subscript(dir: Direction) -> Value {
        get { dir == .c2s ? c2s : s2c }
        _modify {
            if dir == .c2s { yield &c2s } else { yield &s2c }
        }
    }
}

extension PerDirection: Sendable where Value: Sendable {}
extension PerDirection: Equatable where Value: Equatable {}
extension PerDirection: Hashable where Value: Hashable {}

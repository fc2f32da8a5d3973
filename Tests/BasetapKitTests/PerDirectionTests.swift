import Testing
@testable import BasetapKit

@Suite struct PerDirectionTests {
    @Test func eachDirectionHasItsOwnValue() {
        var counts = PerDirection(repeating: 0)
        counts[.c2s] += 2
        counts[.s2c] += 5
        counts[.c2s] += 1
        #expect(counts.c2s == 3 && counts.s2c == 5)
        #expect(counts[.c2s] == 3 && counts[.s2c] == 5)
        #expect(counts != PerDirection(repeating: 0) && counts == PerDirection(c2s: 3, s2c: 5))
    }

    @Test func valuesAreModifiedInPlace() {
        var lists = PerDirection<[Int]>(repeating: [])
        for n in 0..<4 { lists[n % 2 == 0 ? .c2s : .s2c].append(n) }
        #expect(lists.c2s == [0, 2] && lists.s2c == [1, 3])
    }
}

import Foundation
import Testing
@testable import BasetapKit

/// The README is generated from the code where it can be, and kept equal by these tests.
@Suite struct DocumentationTests {
    private let readme = (try? String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""

    @Test func theRulesTableIsTheRulesCommandsOutput() {
        #expect(readme.contains(RuleTable.markdown()), "README.md's rules table differs from 'basetap rules --format markdown'")
    }

    @Test func everyRuleIsListedOnceWithAUniqueID() {
        #expect(Set(Rule.all.map(\.id)).count == Rule.all.count)
        for rule in Rule.all { #expect(readme.contains("`\(rule.id)`")) }
    }

    @Test func theQuickStartIsTwoCommands() {
        #expect(readme.contains("make demo"))
        #expect(readme.contains("make test"))
    }
}

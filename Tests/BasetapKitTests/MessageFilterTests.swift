import Testing
@testable import BasetapKit

@Suite struct MessageFilterTests {
    private func message(_ dir: Direction, _ text: String, conn: String = "c1") -> CaptureRecord {
        CaptureRecord(ts: "", conn: conn, dir: dir, kind: .text, payload: Array(text.utf8))
    }

    /// What a filter's mistake says, or "no error".
    private func error(_ text: String) -> String {
        do {
            _ = try MessageFilter(text)
            return "no error"
        } catch {
            return error.description
        }
    }

    private let chat = ##"{"id":"m12","type":"chat.send","to":"#general","payload":{"text":"hello there","n":3}}"##

    @Test func termsKeysAndPointers() throws {
        let record = message(.c2s, chat)
        for filter in ["dir:c2s", "type:chat.*", "id:m1*", "conn:c1", "kind:text", "/to=#general", "/payload/n=3", "/payload/text", "hello", "\"hello there\"", "text:there"] {
            #expect(try MessageFilter(filter).matches(record), "\(filter)")
        }
        for filter in ["dir:s2c", "type:chat", "id:m2*", "conn:c2", "kind:binary", "/to=#random", "/payload/missing", "goodbye"] {
            #expect(try !MessageFilter(filter).matches(record), "\(filter)")
        }
    }

    @Test func andOrNotAndParentheses() throws {
        let record = message(.s2c, chat)
        #expect(try MessageFilter("dir:s2c type:chat.send").matches(record))
        #expect(try MessageFilter("dir:c2s or id:m12").matches(record))
        #expect(try !MessageFilter("dir:s2c not id:m12").matches(record))
        #expect(try MessageFilter("!(dir:c2s and id:m12)").matches(record))
        #expect(try MessageFilter("(dir:c2s or dir:s2c) (type:x or type:chat.*)").matches(record))
        #expect(try !MessageFilter("dir:c2s (id:m10 or id:m12)").matches(record))
    }

    @Test func errorsNameTheColumn() {
        #expect(error("dir:up") == "at column 1: dir is c2s or s2c, not 'up'")
        #expect(error("type:a (id:b") == "at column 13: '(' at column 8 is never closed")
        #expect(error("id:a or") == "at column 8: a term is missing at the end")
        #expect(error("colour:red") == "at column 1: unknown key 'colour' (dir, kind, conn, type, id, rule, severity, text, or a /pointer)")
        #expect(error("\"open") == "at column 1: a quote that is never closed")
        #expect(error("id:a )") == "at column 6: unexpected ')'")
    }

    @Test func binaryAndBrokenJSONMatchOnlyWhatTheyHave() throws {
        let binary = CaptureRecord(ts: "", conn: "c1", dir: .c2s, kind: .binary, payload: [0, 1])
        #expect(try MessageFilter("kind:binary dir:c2s").matches(binary))
        #expect(try !MessageFilter("type:*").matches(binary))
        #expect(try !MessageFilter("/id").matches(message(.c2s, "{not json")))
        #expect(try MessageFilter("json").matches(message(.c2s, "{not json")), "words are searched in the text")
    }

    @Test func comparisonsRegexRulesAndSeverities() throws {
        let record = message(.c2s, chat)
        let violation = Violation(conn: "c1", dir: .c2s, index: 0, rule: .idSyntax, pointer: "/to", message: "bad")
        for filter in ["/payload/n == 3", "/payload/n==3", "/payload/n > 2", "/payload/n >2", "/payload/n < 3.5", "/to != #random",
                       "/payload/text ~ /hel+o/", "/payload/text~/^hello/", "/payload/text ~ /(hello|bye) there/", "rule:id.*", "severity:error", "rule:id.syntax /to=#gen*"] {
            #expect(try MessageFilter(filter).matches(record, violations: [violation]), "\(filter)")
        }
        for filter in ["/payload/n > 3", "/payload/n < 3", "/to != #general", "/payload/text ~ /^there/", "/to > 1", "rule:json.*", "severity:warning"] {
            #expect(try !MessageFilter(filter).matches(record, violations: [violation]), "\(filter)")
        }
        #expect(try !MessageFilter("rule:*").matches(record), "no violations, no rule")
    }

    @Test func comparisonErrorsNameTheColumn() {
        #expect(error("/n > five") == "at column 6: '>' compares numbers, not 'five'")
        #expect(error("/t ~ /(/") == "at column 6: '(' is not a regular expression")
        #expect(error("/n ==") == "at column 6: '==' needs a value after it")
        #expect(error("severity:fatal") == "at column 1: severity is error or warning, not 'fatal'")
    }
}

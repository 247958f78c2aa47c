import Foundation
import Testing
@testable import VaultCore

/// Policies are edited by hand: a broken one must be blamed on its real line and column.
@Suite struct JSONSyntaxTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let text: String, line: Int, column: Int, says: String
        var testDescription: String { says }
    }

    @Test(arguments: [
        Case(text: "{\n  \"a\": 1,\n  \"b\": 2\n  \"c\": 3\n}", line: 4, column: 3, says: "expected ','"),
        Case(text: "{\n  \"a\": [1, 2,]\n}", line: 2, column: 14, says: "trailing comma"),
        Case(text: "{\n  \"a\": 1,\n}", line: 3, column: 1, says: "trailing comma"),
        Case(text: "{\n  a: 1\n}", line: 2, column: 3, says: "expected a key"),
        Case(text: "{\n  \"a\" 1\n}", line: 2, column: 7, says: "expected ':'"),
        Case(text: "{\n  \"a\": \"six\n}", line: 2, column: 12, says: "not closed on its line"),
        Case(text: "{\n  \"a\": tru\n}", line: 2, column: 8, says: "expected a value"),
        Case(text: "{\n  \"a\": 01\n}", line: 2, column: 9, says: "must not start with 0"),
        Case(text: "{\n  \"a\": 1\n", line: 3, column: 1, says: "'}' is missing"),
        Case(text: "{\"a\": 1} x", line: 1, column: 10, says: "after the end"),
        Case(text: "  ", line: 1, column: 3, says: "empty"),
        Case(text: "{\"a\": \"\\q\"}", line: 1, column: 8, says: "invalid escape")
    ])
    func brokenJSONIsBlamedOnItsLineAndColumn(_ c: Case) throws {
        let p = try #require(JSONSyntax.firstProblem(Array(c.text.utf8)))
        #expect(p.message.contains(c.says), "\(p)")
        #expect(p.line == c.line && p.column == c.column, "\(p)")
    }

    @Test(arguments: [
        "{}", "[]", "{\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\n\", {\"b\": []}]}", " 7 ", "\"s\""
    ])
    func validJSONPasses(_ text: String) {
        #expect(JSONSyntax.firstProblem(Array(text.utf8)) == nil)
    }

    /// It agrees with Foundation on what is JSON, and deep nesting is refused without recursion.
    @Test func agreesWithFoundationAndBoundsDepth() {
        var rng = SplitMix64(seed: 7)
        let alphabet = Array("{}[]\":,0123456789-.eE truefalsnl\\\n".utf8)
        for _ in 0..<3000 {
            let bytes = (0..<Int(rng.next() % 12 + 1)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let foundation = (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
            #expect((JSONSyntax.firstProblem(bytes) == nil) == foundation, "\(String(decoding: bytes, as: UTF8.self))")
        }
        let deep = Array(repeating: UInt8(ascii: "["), count: 100_000)
        #expect(JSONSyntax.firstProblem(deep)?.message.contains("deeper") == true)
    }
}

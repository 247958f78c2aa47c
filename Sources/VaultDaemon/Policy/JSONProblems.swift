import Foundation
import VaultCore

/// Problems with a JSON document, located in its text: unknown keys, decoding errors and syntax,
/// each with the line (and for a value, the column) an operator should look at. Shared by the
/// policy files and the daemon's config.
enum JSONProblems {
    /// The line and column (1-based, in characters) where a top-level key's value starts.
    static func valuePosition(of key: String, in text: String) -> (line: Int, column: Int)? {
        guard let r = text.range(of: "\"\(key)\"") else { return nil }
        var i = r.upperBound
        while i < text.endIndex,
            text[i] == " " || text[i] == "\t" || text[i] == "\n" || text[i] == "\r" || text[i] == ":"
        {
            i = text.index(after: i)
        }
        let before = text[..<i]
        let line = before.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
        let lineStart = before.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
        return (line, text.distance(from: lineStart, to: i) + 1)
    }

    static func unknownKeys(_ object: [String: Any], path: String, text: String, known knownKeys: [String: Set<String>])
        -> [PolicyProblem]
    {
        guard let known = knownKeys[path] else { return [] }
        var problems: [PolicyProblem] = []
        for key in object.keys.sorted() {
            let field = path.isEmpty ? key : path + "." + key
            if !known.contains(key) {
                problems.append(
                    PolicyProblem(
                        field: field,
                        message: "unknown field; expected one of: \(known.sorted().joined(separator: ", "))",
                        line: line(of: field, in: text)))
            } else if let nested = object[key] as? [String: Any] {
                problems += unknownKeys(nested, path: field, text: text, known: knownKeys)
            }
        }
        return problems
    }

    static func describe(_ error: DecodingError, text: String) -> PolicyProblem {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return PolicyProblem(
                field: field, message: "missing (required)", line: line(of: path(context.codingPath), in: text))
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return PolicyProblem(field: field, message: "expected \(typeName(type))", line: line(of: field, in: text))
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return PolicyProblem(
                field: field, message: "expected \(typeName(type)), found null", line: line(of: field, in: text))
        case .dataCorrupted(let context):
            return PolicyProblem(field: path(context.codingPath), message: context.debugDescription)
        @unknown default:
            return PolicyProblem(field: "", message: "\(error)")
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch "\(type)" {
        case "Int": return "a whole number"
        case "Double": return "a number"
        case "String": return "a string"
        case "Array<String>": return "a list of strings"
        default: return "\(type)".lowercased().hasPrefix("array") ? "a list" : "an object"
        }
    }

    static func syntaxProblem(_ bytes: [UInt8], _ text: String) -> PolicyProblem {
        if let p = JSONSyntax.firstProblem(bytes) {
            return PolicyProblem(field: "", message: "not valid JSON: column \(p.column): \(p.message)", line: p.line)
        }
        return PolicyProblem(field: "", message: "the top level must be a JSON object { … }", line: 1)
    }

    /// The line where a dotted field path's last key appears (searching each key after the
    /// previous one); for a key that is absent, the line of the deepest parent that is present.
    static func line(of field: String, in text: String) -> Int? {
        guard !field.isEmpty else { return nil }
        var index = text.startIndex
        var found = false
        for key in field.split(separator: ".") {
            let name = key.split(separator: "[").first.map(String.init) ?? String(key)
            guard let r = text.range(of: "\"\(name)\"", range: index..<text.endIndex) else { break }
            index = r.lowerBound
            found = true
        }
        return found ? text[..<index].reduce(1) { $1 == "\n" ? $0 + 1 : $0 } : nil
    }
}

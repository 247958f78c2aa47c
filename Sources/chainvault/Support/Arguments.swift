import VaultCore

/// What a command accepts: options that take a value (repeatable), and flags.
struct ArgumentSpec {
    var valued: Set<String> = []
    var flags: Set<String> = []
    var positionalsAllowed = 0...Int.max
    /// Short aliases, e.g. "-w" → "--warning".
    var aliases: [String: String] = [:]
    /// Options whose value is optional: `--opt=VALUE`, or `--opt WORD` when WORD is one of the
    /// listed words; otherwise the option stands alone (recorded as a flag) and the next token is
    /// left alone (`verify --chain SNAPSHOT` vs `verify --chain bitcoind SNAPSHOT`).
    var optionalValued: [String: Set<String>] = [:]
}

/// Parsed command line: `--name value`, `--name=value`, flags, `--` ends options.
struct Arguments {
    var positionals: [String] = []
    var values: [String: [String]] = [:]
    var flags: Set<String> = []

    static let global = ArgumentSpec(
        valued: [
            "--repo", "--key-file", "--password-file", "--operator-key", "--operator-password", "--retry-lock",
            "--progress-interval", "--limit-upload", "--limit-download"
        ],
        flags: ["--json", "--quiet", "--help", "-h", "--no-progress", "--no-lock", "--append-only"])

    init(_ raw: [String], spec: ArgumentSpec, command: String) throws {
        var i = 0
        var onlyPositionals = false
        while i < raw.count {
            var arg = raw[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("-") || arg == "-" { positionals.append(arg); continue }
            if arg == "--" { onlyPositionals = true; continue }
            if let alias = spec.aliases[arg] { arg = alias }
            var inline: String?
            if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
                inline = String(arg[arg.index(after: eq)...])
                arg = String(arg[..<eq])
            }
            if let words = spec.optionalValued[arg] {
                flags.insert(arg)
                if let inline {
                    values[arg, default: []].append(inline)
                } else if i < raw.count, words.contains(raw[i]) {
                    values[arg, default: []].append(raw[i])
                    i += 1
                }
            } else if spec.valued.contains(arg) || Self.global.valued.contains(arg) {
                guard let value = inline ?? (i < raw.count ? raw[i] : nil) else {
                    throw VaultError(.usage, "\(arg) needs a value", hint: "see 'chainvault \(command) --help'")
                }
                if inline == nil { i += 1 }
                values[arg, default: []].append(value)
            } else if spec.flags.contains(arg) || Self.global.flags.contains(arg) {
                guard inline == nil else { throw VaultError(.usage, "\(arg) takes no value") }
                flags.insert(arg)
            } else {
                throw VaultError(
                    .usage, "unknown option \(arg) for '\(command)'", hint: "see 'chainvault \(command) --help'")
            }
        }
        guard spec.positionalsAllowed.contains(positionals.count) else {
            throw VaultError(
                .usage,
                "'\(command)' takes \(Self.describe(spec.positionalsAllowed)) argument(s), got \(positionals.count)",
                hint: "see 'chainvault \(command) --help'")
        }
    }

    static func describe(_ r: ClosedRange<Int>) -> String {
        if r.lowerBound == r.upperBound { return "\(r.lowerBound)" }
        if r.upperBound == Int.max { return "at least \(r.lowerBound)" }
        return "\(r.lowerBound) to \(r.upperBound)"
    }

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ flag: String) -> Bool { flags.contains(flag) }

    func int(_ name: String, default d: Int = 0) throws -> Int {
        guard let v = value(name) else { return d }
        guard let n = Int(v), n >= 0 else { throw VaultError(.usage, "\(name) needs a whole number, got '\(v)'") }
        return n
    }
}

/// "512M", "4G", "100k", "2048" → bytes.
func parseSize(_ text: String) throws -> Int {
    let units: [Character: Int] = [
        "k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30, "t": 1 << 40, "T": 1 << 40
    ]
    var digits = text
    var multiplier = 1
    if let last = text.last, let m = units[last] { multiplier = m; digits.removeLast() }
    if digits.hasSuffix("i") { digits.removeLast() }
    guard let n = Double(digits), n > 0 else {
        throw VaultError(.usage, "'\(text)' is not a size (examples: 512M, 4G)")
    }
    return Int(n * Double(multiplier))
}

/// A duration on the command line: `DurationText`'s grammar, the same as in policies.
func parseDuration(_ text: String) throws -> Double {
    guard let seconds = DurationText.seconds(text) else {
        throw VaultError(.usage, "'\(text)' is not a duration (examples: \(DurationText.examples))")
    }
    return seconds
}

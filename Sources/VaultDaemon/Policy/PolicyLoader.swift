import Foundation
import VaultCore

/// Reads policy files strictly and explains every problem with the file, the line and the field.
public enum PolicyLoader {
    /// Decodes and validates one policy file. Throws a `VaultError` (code usage) listing every
    /// problem found, one per line, as `FILE:LINE: field: what is expected`.
    public static func load(_ path: String) throws -> Policy {
        let bytes: [UInt8]
        do { bytes = try Posix.readFile(path, code: .usage) } catch let e as VaultError {
            throw VaultError(
                .usage, "cannot read policy \(path)", cause: e.cause, hint: "check the path and its permissions")
        }
        let (policy, problems) = check(bytes)
        if let policy, problems.isEmpty { return policy }
        let list = problems.map { $0.report(in: path) }
        throw VaultError(
            .usage, "policy \(path) is not valid:\n  " + list.joined(separator: "\n  "),
            hint: "fix the fields named above; the README describes every policy field")
    }

    /// Decodes and validates; returns the policy (when it decodes) and every problem.
    public static func check(_ bytes: [UInt8]) -> (Policy?, [PolicyProblem]) {
        let text = String(decoding: bytes, as: UTF8.self)
        var problems: [PolicyProblem] = []
        // Unknown fields first: a typo such as "retension" must not silently drop a setting.
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            return (nil, [JSONProblems.syntaxProblem(bytes, text)])
        }
        problems += JSONProblems.unknownKeys(object, path: "", text: text, known: Policy.knownKeys)
        let policy: Policy
        do {
            policy = try JSONDecoder().decode(Policy.self, from: Data(bytes))
        } catch let error as DecodingError {
            problems.append(JSONProblems.describe(error, text: text))
            return (nil, withValueColumns(problems, text: text))
        } catch {
            return (nil, problems + [PolicyProblem(field: "", message: "\(error)")])
        }
        problems += PolicyValidator.validate(policy).map { p in
            var p = p
            p.line = JSONProblems.line(of: p.field, in: text)
            return p
        }
        return (policy, withValueColumns(problems, text: text))
    }

    /// The fields whose problems also name the column of their value: a rate is a single number,
    /// so the column points at exactly what is wrong.
    static let columnFields: Set<String> = ["limitUpload", "limitDownload"]

    static func withValueColumns(_ problems: [PolicyProblem], text: String) -> [PolicyProblem] {
        problems.map { p in
            guard columnFields.contains(p.field), let position = JSONProblems.valuePosition(of: p.field, in: text)
            else { return p }
            var p = p
            p.line = position.line
            p.column = position.column
            return p
        }
    }
}

/// The checks JSON types cannot express.
public enum PolicyValidator {
    public static func validate(_ p: Policy) -> [PolicyProblem] {
        var problems: [PolicyProblem] = []
        func problem(_ field: String, _ message: String) {
            problems.append(PolicyProblem(field: field, message: message))
        }

        if p.name.isEmpty || !p.name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" })
            || !p.name.first!.isLetter
        {
            problem("name", "'\(p.name)' must start with a letter and hold only a-z, 0-9 and '-'")
        }
        if !p.source.hasPrefix("/") { problem("source", "must be an absolute path, got '\(p.source)'") }
        switch p.consistency.mode {
        case .live:
            break
        case .stop, .twoPhase:
            if (p.consistency.pre ?? []).isEmpty {
                problem(
                    "consistency.pre",
                    "mode '\(p.consistency.modeName)' needs the command that stops the node, e.g. [\"chainvault\", \"node\", \"stop\", \"bitcoind\"]"
                )
            }
            if (p.consistency.post ?? []).isEmpty {
                problem(
                    "consistency.post", "mode '\(p.consistency.modeName)' needs the command that starts the node again")
            }
        case nil:
            problem(
                "consistency.mode", "'\(p.consistency.modeName)' is not a mode; use \"live\", \"stop\" or \"two-phase\""
            )
        }
        if let t = p.consistency.timeoutSeconds, !(1...3600).contains(t) {
            problem("consistency.timeoutSeconds", "must be 1 to 3600, got \(t)")
        }

        var period: Double?
        do { period = try Schedule.parse(p.schedule).period } catch let e as PolicyProblem { problems.append(e) } catch
        {}
        var jitter = 0.0
        if let j = p.schedule.jitter {
            do { jitter = try j.parsed() } catch { problem("schedule.jitter", "'\(j)' is not a duration (10m, 1h)") }
            if let period, jitter >= period { problem("schedule.jitter", "must be shorter than the schedule's period") }
        }
        if p.retentionPolicyIsEmpty {
            problem(
                "retention",
                "keeps nothing: set at least one of keepLast, keepDaily, keepWeekly, keepMonthly, keepWithin…")
        }
        for (name, value) in [
            ("keepLast", p.retention.keepLast), ("keepHourly", p.retention.keepHourly),
            ("keepDaily", p.retention.keepDaily),
            ("keepWeekly", p.retention.keepWeekly), ("keepMonthly", p.retention.keepMonthly),
            ("keepYearly", p.retention.keepYearly)
        ] {
            if let v = value, v < 0 { problem("retention." + name, "must not be negative") }
        }
        if let w = p.retention.keepWithin, w.seconds == nil {
            problem("retention.keepWithin", "'\(w)' is not a duration (7d)")
        }
        do {
            let rpo = try p.rpo.parsed()
            if let period, rpo < period + jitter {
                problem(
                    "rpo",
                    "\(p.rpo) is shorter than the schedule's period plus jitter: every backup would count as late")
            }
        } catch { problem("rpo", "'\(p.rpo)' is not a duration (8h)") }
        if let v = p.verify {
            if v.every.seconds == nil { problem("verify.every", "'\(v.every)' is not a duration (24h)") }
            if !(1...366).contains(v.readAllWithinDays) {
                problem("verify.readAllWithinDays", "must be 1 to 366, got \(v.readAllWithinDays)")
            }
        }
        if let d = p.restoreDrill, d.every.seconds == nil {
            problem("restoreDrill.every", "'\(d.every)' is not a duration (7d)")
        }
        if let s = p.restoreDrill?.scratch, !s.hasPrefix("/") {
            problem("restoreDrill.scratch", "'\(s)' is not an absolute path")
        }
        if let mode = p.chainCheck, !["required", "recorded", "off"].contains(mode) {
            problem("chainCheck", "'\(mode)' must be required, recorded or off")
        }
        for (i, path) in (p.protect ?? []).enumerated() {
            if path.isEmpty || path.hasPrefix("/") || path.split(separator: "/").contains("..") {
                problem("protect[\(i)]", "'\(path)' must be a path relative to the source, without '..'")
            }
        }
        for (field, value) in [("limitUpload", p.limitUpload), ("limitDownload", p.limitDownload)] {
            if let v = value, !(v.isFinite && v > 0) { problem(field, "\(v) is not a positive rate in KiB/s") }
        }
        if let target = p.copyTo, !(target.hasPrefix("/") || target.hasPrefix("s3:")) {
            problem("copyTo", "'\(target)' must be an absolute path or an s3: location")
        }
        for (i, glob) in (p.exclude ?? []).enumerated() where glob.isEmpty { problem("exclude[\(i)]", "empty pattern") }
        for (i, glob) in (p.include ?? []).enumerated() where glob.isEmpty { problem("include[\(i)]", "empty pattern") }
        return problems
    }
}

extension Policy {
    var retentionPolicyIsEmpty: Bool { retentionPolicy.isEmpty }
}

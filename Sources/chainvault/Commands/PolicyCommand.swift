import VaultCore
import VaultDaemon

enum PolicyCommand: Command {
    static let name = "policy"
    static let summary = "check policy files and explain each problem"
    static let help = """
        Usage: chainvault policy check FILE...

        Decodes each policy strictly (unknown fields are errors: a typo must not drop a setting) and
        checks what JSON cannot: absolute source, hooks for stop and two-phase modes, schedules,
        durations, an RPO longer than the schedule's period plus jitter, a retention that keeps
        something, protected paths inside the source. Each problem is printed as FILE:LINE: field:
        what is expected. Exit 0 when every file is valid, 2 otherwise.
        """
    static let spec = ArgumentSpec(positionalsAllowed: 2...Int.max)

    struct Result: Encodable { let file: String; let valid: Bool; let problems: [String]; let schedule: String? }

    static func run(_ c: Context) throws -> Int32 {
        guard c.args.positionals[0] == "check" else {
            throw VaultError(
                .usage, "unknown policy action '\(c.args.positionals[0])'",
                hint: "use 'chainvault policy check FILE...'")
        }
        var results: [Result] = []
        for file in c.args.positionals.dropFirst() {
            let bytes: [UInt8]
            do { bytes = try Posix.readFile(file, code: .usage) } catch {
                results.append(
                    Result(
                        file: file, valid: false,
                        problems: ["\(file): cannot read: \((error as? VaultError)?.causeDescription ?? "\(error)")"],
                        schedule: nil))
                continue
            }
            let (policy, problems) = PolicyLoader.check(bytes)
            let lines = problems.map { $0.report(in: file) }
            let schedule = policy.flatMap { try? Schedule.parse($0.schedule) }.map { "\($0)" }
            results.append(
                Result(file: file, valid: policy != nil && problems.isEmpty, problems: lines, schedule: schedule))
        }
        if c.out.json {
            c.out.emit(results)
        } else {
            for r in results {
                if r.valid {
                    c.out.line("\(r.file): OK (\(r.schedule ?? ""))")
                } else {
                    for p in r.problems { FileHandleStderr.write(p + "\n") }
                }
            }
        }
        return results.allSatisfy(\.valid) ? 0 : ErrorCode.usage.rawValue
    }
}

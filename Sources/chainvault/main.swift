import Dispatch
import Foundation
import Glibc
import VaultCore

let version = chainvaultVersion

// nonisolated: an immutable table of types, read from every command (not only on the main actor).
nonisolated let commands: [Command.Type] = [
    InitCommand.self, BackupCommand.self, SnapshotsCommand.self, LsCommand.self, RestoreCommand.self,
    VerifyCommand.self, ForgetCommand.self, CopyCommand.self, KeyCommand.self, UnlockCommand.self, RepairCommand.self,
    DiffCommand.self, FindCommand.self, DumpCommand.self,
    PolicyCommand.self, ChainCommand.self, DaemonCommand.self, NodeCommand.self, HealthCommand.self, AuditCommand.self,
    DemoCommand.self, BenchmarkCommand.self,
    CompletionCommand.self, ManCommand.self
]

func topLevelHelp() -> String {
    var text =
        "chainvault \(version): encrypted, deduplicated backups of blockchain node data\n\nUsage: chainvault COMMAND [OPTIONS]\n\nCommands:\n"
    for c in commands { text += "  \(c.name.padding(toLength: 11, withPad: " ", startingAt: 0)) \(c.summary)\n" }
    text +=
        "\n" + globalHelp
        + "\nRun 'chainvault COMMAND --help' for a command's options. Exit codes are listed in the README.\n"
    return text
}

/// A reader that goes away (`| head`) is a normal end, not a reason to die with the lock held:
/// SIGPIPE is ignored and a write to a closed stdout fails with EPIPE, which `Output` absorbs.
signal(SIGPIPE, SIG_IGN)

/// SIGINT/SIGTERM stop the running job at its next safe point; nothing half-written is referenced.
/// The watcher starts before any other thread, so that it is the only one the signals reach.
SignalWatcher.start()
let cancellation = Cancellation()
for sig in [SIGINT, SIGTERM] { SignalWatcher.on(sig) { cancellation.cancel() } }

func main() -> Int32 {
    var raw = Array(CommandLine.arguments.dropFirst())
    guard let first = raw.first else { print(topLevelHelp()); return ErrorCode.usage.rawValue }
    if first == "--help" || first == "-h" || first == "help" { print(topLevelHelp()); return 0 }
    if first == "--version" || first == "version" { print("chainvault \(version)"); return 0 }
    raw.removeFirst()
    guard let command = commands.first(where: { $0.name == first }) else {
        FileHandle.standardError.write(
            Data("error: unknown command '\(first)'\nHINT: run 'chainvault --help' for the list\n".utf8))
        return ErrorCode.usage.rawValue
    }
    if raw.contains("--help") || raw.contains("-h") {
        print(command.help + "\n\n" + globalHelp)
        return 0
    }
    var json = raw.contains("--json")
    var parsed: Arguments?
    do {
        let args = try Arguments(raw, spec: command.spec, command: command.name)
        parsed = args
        json = args.has("--json")
        let out = Output(json: json, quiet: args.has("--quiet"), noProgress: args.has("--no-progress"))
        let code = try command.run(Context(command: command.name, args: args, out: out, cancellation: cancellation))
        CommandAudit.record(
            command.name, args,
            result: code == 0 ? "succeeded" : (code == ErrorCode.partial.rawValue ? "partial" : "failed"), error: nil)
        return code
    } catch {
        if let parsed {
            CommandAudit.record(
                command.name, parsed, result: "failed", error: (error as? VaultError)?.message ?? "\(error)")
        }
        let e = VaultError.wrap(error, .failure, "\(command.name) failed")
        FileHandle.standardError.write(Data((e.description + "\n").utf8))
        if json {
            struct Failure: Encodable {
                let error: String; let code: Int32; let name: String; let cause: String?; let hint: String?
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            if let data = try? encoder.encode(
                Failure(
                    error: e.message, code: e.code.rawValue, name: e.code.name, cause: e.causeDescription, hint: e.hint)
            ) {
                print(String(decoding: data, as: UTF8.self))
            }
        }
        return e.code.rawValue
    }
}

exit(main())

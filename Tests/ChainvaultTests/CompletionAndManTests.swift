import Foundation
import Testing

/// Completions and the man page come from the table `--help` prints: each lists every command,
/// and every option a command's `--help` names (issue 15).
struct CompletionAndManTests {
    static func options(in text: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: "(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*")
        let range = NSRange(text.startIndex..., in: text)
        return Set(
            regex.matches(in: text, range: range).compactMap { Range($0.range, in: text).map { String(text[$0]) } })
    }

    /// The options a help text lists: in its usage lines and on the lines that describe an option
    /// (prose that names another command's option, "use 'restore --target DIR'", is not a listing).
    static func listedOptions(in help: String) -> Set<String> {
        var listed = ""
        var usage = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.drop { $0 == " " }
            if t.hasPrefix("Usage:") {
                usage = true
            } else if !(t.hasPrefix("chainvault") || t.hasPrefix("[")) {
                usage = false
            }
            if usage || t.hasPrefix("-") { listed += t + "\n" }
        }
        return options(in: listed)
    }

    @Test func completionsAndTheManPageListEveryCommandAndEveryOptionHelpLists() throws {
        let w = try Workspace()
        let top = try w.ok(["--help"]).stdout
        let commands = top.components(separatedBy: "Commands:\n").last!.components(separatedBy: "\n\n").first!
            .split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(commands.count > 20 && commands.contains("completion") && commands.contains("man"), "\(commands)")
        let bash = try w.ok(["completion", "bash"]).stdout
        let zsh = try w.ok(["completion", "zsh"]).stdout
        let man = try w.ok(["man"]).stdout.replacingOccurrences(of: "\\-", with: "-")
        #expect(bash.contains("complete -o default -F _chainvault chainvault"))
        #expect(zsh.hasPrefix("#compdef chainvault"))
        #expect(man.hasPrefix(".TH CHAINVAULT 1"))
        for command in commands {
            let help = try w.ok([command, "--help"]).stdout
            let bashLine =
                bash.split(separator: "\n").first { $0.hasPrefix("        \(command)) opts=") }.map(String.init) ?? ""
            let zshLine =
                zsh.split(separator: "\n").first { $0.hasPrefix("        \(command)) _arguments") }.map(String.init)
                ?? ""
            let manSection =
                man.components(separatedBy: ".SS \(command)\n").dropFirst().first?
                .components(separatedBy: ".SS ").first ?? ""
            #expect(!bashLine.isEmpty && !zshLine.isEmpty && !manSection.isEmpty, "\(command) is missing")
            let zshOptions = Set(Self.options(in: zshLine))
            let listed = Self.listedOptions(in: help)
            #expect(listed.contains("--repo"), "\(command): \(listed)")
            for option in listed where option != "--help" {
                #expect(Self.options(in: bashLine).contains(option), "bash: \(command) \(option)")
                #expect(zshOptions.contains(option), "zsh: \(command) \(option)")
                #expect(
                    Self.options(in: manSection).contains(option) || Self.options(in: man).contains(option),
                    "man: \(command) \(option)")
            }
        }
        // The scripts are valid for their shells.
        try w.write("c.bash", Array(bash.utf8))
        let syntax = Process()
        syntax.executableURL = URL(fileURLWithPath: "/bin/bash")
        syntax.arguments = ["-n", w.path("c.bash")]
        try syntax.run(); syntax.waitUntilExit()
        #expect(syntax.terminationStatus == 0)
    }
}

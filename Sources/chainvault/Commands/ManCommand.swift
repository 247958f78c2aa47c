import Foundation
import VaultCore

/// `chainvault man`: the manual page, from the same table as `--help` (see CompletionCommand.swift).
enum ManCommand: Command {
    static let name = "man"
    static let summary = "print the manual page (troff), generated from the commands' help"
    static let help = """
        Usage: chainvault man

        Prints chainvault(1) in man(7) format, made from every command's --help text.
        View it with 'chainvault man | man -l -'. The Debian package installs it.
        """
    static let spec = ArgumentSpec(positionalsAllowed: 0...0)

    static func run(_ c: Context) throws -> Int32 {
        c.out.line(page())
        return 0
    }

    /// Text safe in a troff line: backslashes doubled, a leading dot or quote escaped.
    static func escape(_ line: String) -> String {
        let text = line.replacingOccurrences(of: "\\", with: "\\e").replacingOccurrences(of: "-", with: "\\-")
        return text.hasPrefix(".") || text.hasPrefix("'") ? "\\&" + text : text
    }

    static func page() -> String {
        var s = ".TH CHAINVAULT 1 \"\" \"chainvault \(version)\" \"User Commands\"\n"
        s += ".SH NAME\nchainvault \\- encrypted, deduplicated backups of blockchain node data\n"
        s += ".SH SYNOPSIS\n.B chainvault\n.I COMMAND\n[\n.I OPTIONS\n]\n"
        s += ".SH COMMANDS\n"
        for c in commands {
            s += ".SS \(c.name)\n\(escape(c.summary))\n.PP\n.nf\n"
            s += c.help.split(separator: "\n", omittingEmptySubsequences: false).map { escape(String($0)) }.joined(
                separator: "\n")
            s += "\n.fi\n"
        }
        s += ".SH GLOBAL OPTIONS\n.nf\n"
        s += globalHelp.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().map { escape(String($0)) }
            .joined(separator: "\n")
        s +=
            "\n.fi\n.SH EXIT STATUS\nThe exit codes are listed in the README (0 success, 2 usage, 12 locked, 14 corrupt).\n"
        return s
    }
}

import Foundation
import VaultCore

/// Shell completions and the manual page, generated from the same table `--help` prints
/// (`commands` in main.swift: each command's name, summary, help and `ArgumentSpec`), so a
/// command or option added there appears in all of them.
enum CommandReference {
    /// A command's options as its parser accepts them (its own, aliases, then the global ones).
    static func options(_ c: Command.Type) -> [String] {
        let own = c.spec.valued.union(c.spec.flags).union(c.spec.aliases.keys).union(c.spec.optionalValued.keys)
            .sorted()
        return own + globalOptions.filter { !own.contains($0) }
    }

    static var globalOptions: [String] {
        Arguments.global.valued.union(Arguments.global.flags).sorted()
    }

    /// Options that take a value: completed with file names.
    static func valued(_ c: Command.Type) -> [String] {
        c.spec.valued.union(Arguments.global.valued).sorted()
    }
}

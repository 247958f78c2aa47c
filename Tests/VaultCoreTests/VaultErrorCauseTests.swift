import Foundation
import Glibc
import Testing
import VaultCore

/// Errors keep their cause as a value (issue 16); what operators read does not change.
struct VaultErrorCauseTests {
    @Test func aFailedSystemCallKeepsItsErrnoAndPrintsAsBefore() throws {
        let path = NSTemporaryDirectory() + "cv-missing-" + UUID().uuidString
        let error = #expect(throws: VaultError.self) { try Posix.readFile(path) }
        #expect((error?.cause as? Errno) == .noSuchFile)
        #expect(error?.causeDescription == "No such file or directory")
        #expect(
            error?.description == "error: cannot open \(path)\n  cause: No such file or directory",
            "\(String(describing: error))")
        let full = Posix.error("write", "/x", errno: ENOSPC)
        #expect(full.code == .storageFull && (full.cause as? Errno) == .noSpace)
    }

    @Test func aWrappedErrorIsItsMessageForOperatorsAndATreeForDebugging() {
        let inner = VaultError(
            .storageFailure, "cannot open /repo/config", cause: Errno(EACCES), file: "VaultCore/Posix.swift", line: 12)
        let outer = VaultError(
            .notARepository, "cannot open a repository at /repo", cause: inner,
            hint: "check the --repo path", file: "VaultRepository/Repository.swift", line: 43)
        #expect(
            outer.description
                == "error: cannot open a repository at /repo\n  cause: cannot open /repo/config\nHINT: check the --repo path"
        )
        #expect(
            outer.detailedDescription() == """
                VaultError: not-a-repository (10)
                ├─ message: cannot open a repository at /repo
                ├─ location: VaultRepository/Repository.swift:43
                ├─ hint: check the --repo path
                └─ cause:
                   VaultError: storage-failure (16)
                   ├─ message: cannot open /repo/config
                   ├─ location: VaultCore/Posix.swift:12
                   └─ cause:
                      Errno 13: Permission denied
                """)
        #expect(
            VaultError(.usage, "bad").detailedDescription().hasSuffix(
                "└─ location: VaultCoreTests/VaultErrorCauseTests.swift:\(#line)"))
    }

    @Test func textCausesAndOtherErrorsPrintAsTheirText() {
        let hook = VaultError(.failure, "pre-hook failed", cause: CauseText("cannot stop\n"))
        #expect(hook.description == "error: pre-hook failed\n  cause: cannot stop\n")
        struct Odd: Error, CustomStringConvertible { var description: String { "odd thing" } }
        let wrapped = VaultError.wrap(Odd(), .corrupt, "snapshot 1234 is not valid JSON")
        #expect(wrapped.cause is Odd && wrapped.causeDescription == "odd thing" && wrapped.code == .corrupt)
        #expect(VaultError.wrap(hook, .corrupt, "other").message == "pre-hook failed", "a VaultError is kept as it is")
    }
}

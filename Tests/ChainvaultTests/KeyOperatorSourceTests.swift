import Foundation
import Testing
import VaultCore

/// Where an operator's secret comes from at a recovery ceremony (issue 14): `NAME=-` reads it
/// from stdin (a passphrase need not be written to a file), `NAME` alone reads the systemd
/// credential `$CREDENTIALS_DIRECTORY/NAME`; stdin can serve one operator only, and a missing
/// credential directory is named. Through the binary, on KeyThresholdTests' 2-of-3 ceremony.
extension KeyThresholdTests {
    /// Runs the binary with `input` on its stdin.
    func run(_ w: Workspace, _ args: [String], input: String, env: [String: String] = [:]) throws -> Workspace.Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Workspace.binary)
        p.arguments = args
        p.environment = w.environment.merging(env) { $1 }
        let inPipe = Pipe(), out = Pipe(), err = Pipe()
        p.standardInput = inPipe
        p.standardOutput = out
        p.standardError = err
        try p.run()
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try inPipe.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Workspace.Run(
            code: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }

    @Test func anOperatorsPassphraseFromStdinAndAKeyFromTheCredentialDirectoryOpenTheRepository() throws {
        let (w, _) = try ceremony()
        try FileManager.default.createDirectory(atPath: w.path("credentials"), withIntermediateDirectories: true)
        try w.write("credentials/alice", Array((String(repeating: "a1", count: 32) + "\n").utf8), mode: 0o600)
        let env = ["CHAINVAULT_KEY_FILE": "", "CREDENTIALS_DIRECTORY": w.path("credentials")]
        let r = try run(
            w, ["snapshots", "--operator-password", "bob=-", "--operator-key", "alice"],
            input: "bob's long passphrase\n", env: env)
        #expect(r.code == 0, "\(r.stderr)")
        // A key piped in works too, and a wrong passphrase on stdin opens nothing.
        let piped = try run(
            w, ["snapshots", "--operator-key", "carol=-", "--operator-key", "alice"],
            input: String(repeating: "c3", count: 32) + "\n", env: env)
        #expect(piped.code == 0, "\(piped.stderr)")
        let wrong = try run(
            w, ["snapshots", "--operator-password", "bob=-", "--operator-key", "alice"],
            input: "not bob's passphrase\n", env: env)
        #expect(wrong.code == 11, "\(wrong.stderr)")
    }

    @Test func stdinForTwoOperatorsAndAMissingCredentialDirectoryAreClearErrors() throws {
        let (w, _) = try ceremony()
        let env = ["CHAINVAULT_KEY_FILE": ""]
        let twice = try run(
            w, ["snapshots", "--operator-password", "bob=-", "--operator-key", "alice=-"],
            input: "bob's long passphrase\n", env: env)
        #expect(twice.code == 2, "\(twice.stderr)")
        #expect(
            twice.stderr.contains("stdin can hold the secret of one operator only: alice=- and bob=- both ask for it"),
            "\(twice.stderr)")
        #expect(twice.stderr.lowercased().contains("hint:"), "\(twice.stderr)")

        let none = try run(
            w, ["snapshots", "--operator-key", "alice", "--operator-key", "carol=" + w.path("carol.key")],
            input: "", env: env)
        #expect(none.code == 2, "\(none.stderr)")
        #expect(
            none.stderr.contains("--operator-key alice names no file, and $CREDENTIALS_DIRECTORY is not set"),
            "\(none.stderr)")

        try FileManager.default.createDirectory(atPath: w.path("credentials"), withIntermediateDirectories: true)
        let missing = try run(
            w, ["snapshots", "--operator-key", "alice", "--operator-key", "carol=" + w.path("carol.key")],
            input: "", env: env.merging(["CREDENTIALS_DIRECTORY": w.path("credentials")]) { $1 })
        #expect(missing.code == 2, "\(missing.stderr)")
        #expect(missing.stderr.contains("key file \(w.path("credentials"))/alice does not exist"), "\(missing.stderr)")

        let empty = try run(
            w, ["snapshots", "--operator-password", "bob=-", "--operator-key", "alice=" + w.path("alice.key")],
            input: "", env: env)
        #expect(empty.code == 2, "\(empty.stderr)")
        #expect(empty.stderr.contains("the passphrase of operator bob from stdin is empty"), "\(empty.stderr)")
    }
}

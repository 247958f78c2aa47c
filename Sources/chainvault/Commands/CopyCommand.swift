import Foundation
import VaultCore
import VaultEngine
import VaultRepository
import VaultStorage

enum CopyCommand: Command {
    static let name = "copy"
    static let summary = "copy snapshots to another repository (local or S3)"
    static let help = """
        Usage: chainvault copy --from REPO --to REPO [SNAPSHOT...]

        Copies snapshots (all, or those named: ids, prefixes, 'latest') from one repository to
        another, sending only the data the destination lacks, re-encrypted for its key. Snapshots
        already copied are skipped, and an interrupted copy resumes where it stopped. The
        destination's structure is verified for every snapshot copied.
          --from REPO                 source repository (path or s3:...)
          --from-key-file FILE        key for the source (default: the destination's key options)
          --from-password-file FILE   passphrase for the source
          --to REPO                   destination (default: --repo / CHAINVAULT_REPOSITORY);
                                      its key comes from --key-file / --password-file as usual
        """
    static let spec = ArgumentSpec(valued: ["--from", "--to", "--from-key-file", "--from-password-file"])

    struct Result: Encodable {
        struct Pair: Encodable { let source: String; let destination: String }
        let copied: [Pair]
        let alreadyPresent: [String]
        let blobsCopied: UInt64
        let bytesCopied: UInt64
        let bytesStored: UInt64
        let durationSeconds: Double
    }

    static func run(_ c: Context) throws -> Int32 {
        guard let from = c.args.value("--from") else {
            throw VaultError(.usage, "copy needs --from REPO", hint: "see 'chainvault copy --help'")
        }
        let to = try c.args.value("--to") ?? c.repositoryPath()
        let sourceCredential: Credential
        if let k = c.args.value("--from-key-file") {
            sourceCredential = try Credential.keyFile(k)
        } else if let p = c.args.value("--from-password-file") {
            sourceCredential = try Credential.passwordFile(p)
        } else {
            sourceCredential = try c.credential()
        }
        let limits = try c.limits()
        let source = try Repository.open(
            try openBackend(from, environment: c.environment, limits: limits),
            credential: sourceCredential)
        let destination = try Repository.open(
            try openBackend(to, environment: c.environment, limits: limits),
            credential: try c.credential())
        let sourceLock = try c.lock(source, exclusive: false)
        defer { sourceLock.release() }
        let destinationLock = try c.lock(destination, exclusive: false)
        defer { destinationLock.release() }

        var options = CopyOptions()
        options.snapshots = c.args.positionals
        let result = try c.withProgress("copy") {
            try Copier(source: source, destination: destination, progress: $0, cancellation: c.cancellation).run(
                options)
        }
        if c.out.json {
            c.out.emit(
                Result(
                    copied: result.copied.map { .init(source: $0.source.hex, destination: $0.destination.hex) },
                    alreadyPresent: result.alreadyPresent.map(\.hex),
                    blobsCopied: result.blobsCopied, bytesCopied: result.bytesCopied, bytesStored: result.bytesStored,
                    durationSeconds: result.durationSeconds))
        } else {
            if result.recoveredPacks > 0 {
                c.out.line("reused \(result.recoveredPacks) packs left by an interrupted copy")
            }
            for pair in result.copied {
                c.out.line("snapshot \(pair.source.shortHex) copied as \(pair.destination.shortHex)")
            }
            if !result.alreadyPresent.isEmpty {
                c.out.line("\(result.alreadyPresent.count) snapshot(s) already in the destination")
            }
            c.out.line(
                "  new data   \(Format.bytes(result.bytesCopied)) in \(result.blobsCopied) chunks, stored \(Format.bytes(result.bytesStored))"
            )
            c.out.line("  duration   \(Format.duration(result.durationSeconds))")
        }
        return 0
    }
}

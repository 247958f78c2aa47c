import VaultCore
import VaultRepository

enum InitCommand: Command {
    static let name = "init"
    static let summary = "create a new repository"
    static let help = """
        Usage: chainvault init --repo PATH (--key-file FILE | --password-file FILE) [--compression N]

        Creates an encrypted repository. The key never comes from the command line: use a key file
        (create one with 'chainvault key generate --output FILE') or a passphrase file.
          --compression N   zstd level for new data (default 3; 1-19)
        """
    static let spec = ArgumentSpec(valued: ["--compression"], positionalsAllowed: 0...0)

    struct Result: Encodable { let repository: String; let id: String; let key: String }

    static func run(_ c: Context) throws -> Int32 {
        let backend = try c.backend()
        let level = try c.args.int("--compression", default: 3)
        guard (1...19).contains(level) else { throw VaultError(.usage, "--compression must be 1 to 19") }
        let repo = try Repository.initialize(
            backend, credential: try c.credential(), config: .new(compressionLevel: Int32(level)))
        if c.out.json {
            c.out.emit(Result(repository: repo.location, id: repo.config.id, key: repo.keyID.hex))
        } else {
            c.out.line(
                "created repository \(repo.config.id.prefix(8)) at \(repo.location) (key \(repo.keyID.shortHex))")
        }
        return 0
    }
}

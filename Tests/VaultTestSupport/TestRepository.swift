import VaultCore
import VaultRepository
import VaultStorage

/// A key-file credential of 32 bytes of `byte`: tests that open a repository again pass the same byte.
public func keyCredential(_ byte: UInt8 = 7) -> Credential {
    var raw = [UInt8](repeating: byte, count: 32)
    return .keyFile(SecretBytes(consuming: &raw))
}

/// A new repository in memory under `keyCredential(byte)`, and its backend (to reopen or inspect it).
public func newRepository(_ byte: UInt8 = 7) throws -> (Repository, MemoryBackend) {
    let backend = MemoryBackend()
    return (try Repository.initialize(backend, credential: keyCredential(byte)), backend)
}

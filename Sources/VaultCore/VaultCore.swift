// VaultCore: the primitives every other layer builds on, and the only module that touches C.
//
// - `SHA256Digest` / `SHA256`: block hashes; a chunk's id is the SHA-256 of its plaintext.
// - `AESGCM`, `HKDF`, `Scrypt`, `SecureRandom`, `SecretBytes`: OpenSSL 3, never hand-rolled.
// - `ZstdCompressor` / `ZstdDecompressor`: libzstd contexts, one per worker.
// - `FastCDC`: content-defined chunking, so an insertion moves only nearby boundaries.
// - `ByteWriter` / `ByteReader`: little-endian binary encodings for packs, index and trees.
// - `Posix`: thin syscall wrappers that retry EINTR and throw `VaultError` naming the path.
// - `VaultError`: one error type; its code is the process exit code.

/// chainvault's version: the one place it is written (`--version`, the man page, the daemon's
/// User-Agent all read it).
public let chainvaultVersion = "0.1.0"

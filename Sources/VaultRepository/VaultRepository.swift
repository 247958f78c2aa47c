// VaultRepository: the repository format (FORMAT.md beside this file is the normative spec).
//
// - `Repository`: an opened repository (backend + master key + config + in-memory index).
// - `KeyRing` / `Credential`: the master key, wrapped per key file under `keys/`.
// - `SealedFile`: the encrypted envelope of config, index and snapshot files.
// - `PackWriter` / `PackReader` / `BlobEncoder`: blobs compressed, encrypted and grouped in packs.
// - `MasterIndex` / `IndexFile`: where each blob lives (pack, offset, length).
// - `Tree` / `Node`: a directory listing; tree ids chain into a Merkle tree over every byte.
// - `Snapshot`: the root tree id and what, when and where it was taken.
// - `RepositoryLock`: shared and exclusive locks with refresh and staleness.

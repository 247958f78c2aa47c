// VaultEngine: the operations, each an agent over a `Repository`.
//
// - `Archiver`: backup. The walker thread walks directories and skips unchanged files;
//   `FileReader` threads read and chunk the rest and submit the chunks to the repository's
//   `BlobSaver` (`Repository.withBlobSaver`: its workers hash, deduplicate, compress, encrypt and
//   pack them, and it writes an index file every few packs); trees are saved bottom-up into the
//   same saver, which stores them after the data; the snapshot is written last.
// - `Restorer`: restore into a staging directory, every chunk checked, fsync, atomic swap.
// - `Checker`: verify structure and, with read-data, every byte.
// - `Pruner`: forget by retention policy, then remove or repack unreferenced data.
// - `JobProgress`: counters the CLI (and later the daemon) reads while a job runs.

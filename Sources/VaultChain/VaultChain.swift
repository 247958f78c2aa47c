// VaultChain: what chainvault knows about blockchains. Parsers and checks of the clients' own
// file formats (Bitcoin Core's block and undo files, go-ethereum's era1 archives and freezer,
// CometBFT's validator state), working on a `ChainDataSource` so that the same code checks a
// live directory and a snapshot streamed from the repository. Depends on VaultCore only
// (SHA-256 from OpenSSL); no storage, no repository.

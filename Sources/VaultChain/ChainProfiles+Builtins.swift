extension ChainProfiles {
    /// Registers the profiles chainvault ships, once however often it is called (a `static let`
    /// initialiser runs exactly once, thread-safely), so tests and the CLI can both call it.
    /// Detection order: each profile's own files are distinctive, so the order only matters for a
    /// directory that holds several clients' data.
    public static func registerBuiltins() { _ = builtins }

    private static let builtins: Void = {
        register(BitcoindProfile())
        registerGethAndCometBFT()
    }()
}

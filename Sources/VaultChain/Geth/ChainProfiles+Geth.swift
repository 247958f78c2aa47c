extension ChainProfiles {
    /// Registers the "geth" and "cometbft" profiles (once; the lead calls this at start-up,
    /// before any thread reads `all`, beside the other built-ins).
    public static func registerGethAndCometBFT() {
        if named("geth") == nil { register(GethProfile()) }
        if named("cometbft") == nil { register(CometBFTProfile()) }
    }
}

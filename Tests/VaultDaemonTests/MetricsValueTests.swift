import Testing
@testable import VaultDaemon

/// Byte counts kept as `UInt64` are exported as their values. `Optional.map(Double.init)` on a
/// `UInt64` picks an initializer that reinterprets the bits (a drill of 55,967,082 bytes showed as
/// 2.76514125e-316, found by an outside tester), so every such gauge is checked here by value.
@Suite struct MetricsValueTests {
    @Test func unsignedByteCountsAreExportedAsTheirValues() {
        var policy = PolicyState()
        policy.lastDrillBytes = 55_967_082
        policy.lastDrillBytesPerSecond = 1_000
        policy.lastVerifyPacksRead = 42
        let view = DaemonMetrics.PolicyView(name: "node-a", rpoSeconds: 3_600, nextBackup: nil, state: policy)
        let text = DaemonMetrics.render(
            version: "test", policies: [view], state: DaemonState(), now: 0,
            running: nil, ready: true)
        #expect(text.contains("chainvault_restore_drill_last_bytes{policy=\"node-a\"} 55967082\n"))
        #expect(text.contains("chainvault_verify_last_read_packs{policy=\"node-a\"} 42\n"))
        #expect(!text.contains("e-3"), "a value rendered from a reinterpreted bit pattern")
    }
}

import Testing
@testable import VaultCore

/// One grammar for durations: policies, the daemon's config and the command line accept the same texts.
@Suite struct DurationTextTests {
    @Test(arguments: [
        ("90s", 90.0), ("30m", 1800), ("6h", 21_600), ("7d", 604_800), ("2w", 1_209_600),
        ("1y", 31_536_000), ("1h30m", 5400), ("1.5h", 5400), ("1d12h", 129_600)
    ])
    func accepted(_ text: String, _ seconds: Double) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test(arguments: ["", "6", "h", "six hours", "6x", "-6h", "6h ", "1..5h", "0s", "h6"])
    func refused(_ text: String) {
        #expect(DurationText.seconds(text) == nil)
    }

    @Test func zeroOnlyWhereAllowedAndFormatRoundTrips() {
        #expect(DurationText.seconds("0s", allowZero: true) == 0)
        for s in [90.0, 1800, 21_600, 604_800] { #expect(DurationText.seconds(DurationText.format(s)) == s) }
    }
}

import Foundation
import Testing
import VaultCore

/// One repository, two nodes (the README's daemon set-up): bitcoind's snapshot, then geth's, the
/// newest. `restore latest` into bitcoind's directory gets bitcoind's data (it used to get
/// geth's); into a directory that is no node's it is refused with the candidates; the filters
/// select explicitly, in `restore` and in `snapshots`.
@Test func restoreLatestIntoANodesDirectoryGetsThatNodesSnapshot() throws {
    let w = try Workspace()
    try w.ok(["init"])
    let bitcoind = try w.makeSourceTree("bitcoind")
    try w.write("geth/chaindata/000001.ldb", SecureRandom.bytes(200_000))
    try w.ok(["backup", bitcoind, "--policy", "bitcoind", "--tag", "weekly"])
    try w.ok(["backup", w.path("geth"), "--policy", "geth"])
    try FileManager.default.moveItem(atPath: bitcoind, toPath: w.path("bitcoind-lost"))

    try w.ok(["restore", "latest", "--target", bitcoind])
    #expect(try treeDifferences(w.path("bitcoind-lost"), bitcoind) == [], "bitcoind's directory holds bitcoind's data")

    let refused = try w.run(["restore", "latest", "--target", w.path("elsewhere")])
    #expect(refused.code == 18, "\(refused.stderr)")
    #expect(refused.stderr.contains("error: 'latest' is ambiguous: the repository holds snapshots of 2 sources"))
    #expect(
        refused.stderr.contains("source \(bitcoind)  policy bitcoind")
            && refused.stderr.contains("source \(w.path("geth"))  policy geth"))
    #expect(
        refused.stderr.contains(
            "HINT: select one with --host, --source, --policy or --tag, or name a snapshot by its id"))
    #expect(!FileManager.default.fileExists(atPath: w.path("elsewhere")), "nothing is written")

    try w.ok(["restore", "latest", "--target", w.path("elsewhere"), "--policy", "geth"])
    #expect(try treeDifferences(w.path("geth"), w.path("elsewhere")) == [])
    try w.ok([
        "restore", "latest", "--target", w.path("again"), "--source", bitcoind + "/", "--host",
        ProcessInfo.processInfo.hostName
    ])
    #expect(try treeDifferences(w.path("bitcoind-lost"), w.path("again")) == [])

    let empty = try w.run(["restore", "latest", "--target", w.path("none"), "--tag", "monthly"])
    #expect(
        empty.code == 18 && empty.stderr.contains("error: the repository has no snapshots (tags monthly)"),
        "\(empty.stderr)")

    let listed = try w.ok(["snapshots", "--json", "--tag", "weekly"])
    let rows = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
    #expect(
        rows.count == 1 && (rows.first?["snapshot"] as? [String: Any])?["policy"] as? String == "bitcoind",
        "\(listed.stdout)")
    let table = try w.ok(["snapshots", "--policy", "geth"]).stdout
    #expect(
        table.contains("policy geth") && !table.contains("policy bitcoind") && table.contains("1 snapshot(s)"),
        "\(table)")
    #expect(try w.ok(["snapshots", "--source", w.path("nothing")]).stdout.contains("0 snapshot(s)"))
}

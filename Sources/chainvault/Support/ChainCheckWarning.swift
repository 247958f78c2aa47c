import VaultRepository

/// The warning restore gives before installing a snapshot whose chain check failed, naming the
/// newest snapshot of the same source whose check passed (FORMAT.md, snapshots: chainCheck).
enum ChainCheckWarning {
    static func text(for reference: String, in repo: Repository) -> String? {
        guard let record = try? repo.resolveSnapshot(reference), let check = record.snapshot.chainCheck, !check.valid
        else {
            return nil
        }
        let valid = (try? repo.listSnapshots())?.last {
            $0.snapshot.source == record.snapshot.source && $0.snapshot.chainCheck?.valid == true
        }
        let alternative =
            valid.map { "the newest snapshot of \(record.snapshot.source) whose chain check passed is \($0.shortID)" }
            ?? "no snapshot of \(record.snapshot.source) passed its chain check"
        return "snapshot \(record.shortID) failed its chain check (\(check.profile), \(check.problems) problem(s): "
            + "\(check.firstProblems.first ?? "see 'chainvault snapshots --json'")); \(alternative)"
    }
}

import VaultCore
import VaultRepository

extension Checker {
    /// The index files into `table`, a batch (one a core) at a time, so that only a batch of
    /// decoded files exists beside it. A damaged file is reported and the rest goes on; files
    /// another one supersedes (a prune stopped before it deleted them) are left out by a second
    /// pass, as `Repository.loadIndex` does.
    func loadIndex(_ names: [String]) throws {
        var superseded = Set<String>()
        var problems: [Problem] = [], unreadable: [Problem] = []
        func pass(_ names: [String]) throws {
            table.removeAll(); problems = []; unreadable = []
            let batch = max(1, Parallel.cores)
            for start in stride(from: 0, to: names.count, by: batch) {
                let part = Array(names[start..<min(start + batch, names.count)])
                let files: [Result<IndexFile, VaultError>] = try Parallel.map(part) { name in
                    do { return .success(try repository.readIndexFile(name)) } catch let e as VaultError { return .failure(e) }
                }
                for (name, result) in zip(part, files) {
                    switch result {
                    case .success(let file):
                        superseded.formUnion(file.supersedes.map(\.hex))
                        for p in file.packs { table.add(p) }
                    case .failure(let e) where Self.isReadFailure(e):
                        unreadable.append(Problem(object: "index/\(name.prefix(8))", message: "cannot be read: " + e.message))
                    case .failure(let e):
                        problems.append(Problem(object: "index/\(name.prefix(8))",
                                                message: e.message + " (rebuild it with 'chainvault repair index')"))
                    }
                }
            }
        }
        try pass(names)
        if names.contains(where: superseded.contains) { try pass(names.filter { !superseded.contains($0) }) }
        report.unreadable += unreadable
        report.problems += problems
        table.seal()
    }
}

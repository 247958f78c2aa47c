import Foundation
import Glibc
import Synchronization
import Testing
import VaultCore

/// Runs the built `chainvault` binary in a scratch workspace with its own key and repository.
final class Workspace {
    let root: String
    let key: String
    let repo: String
    var environment: [String: String]

    static var binary: String {
        // To show that a new end-to-end test fails on an older build: point this at its binary.
        if let other = ProcessInfo.processInfo.environment["CHAINVAULT_TEST_BINARY"], !other.isEmpty { return other }
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("chainvault").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return ".build/debug/chainvault"
    }

    init() throws {
        root = NSTemporaryDirectory() + "cv-e2e-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        key = root + "/key"
        repo = root + "/repo"
        _ = FileManager.default.createFile(
            atPath: key, contents: Data(SecureRandom.bytes(32)), attributes: [.posixPermissions: 0o600])
        environment = ProcessInfo.processInfo.environment
        environment["CHAINVAULT_REPOSITORY"] = repo
        environment["CHAINVAULT_KEY_FILE"] = key
        environment.removeValue(forKey: "CHAINVAULT_PASSWORD_FILE")
        environment.removeValue(forKey: "CREDENTIALS_DIRECTORY")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    struct Run {
        let code: Int32
        let stdout: String
        let stderr: String
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:]
        }
    }

    @discardableResult
    func run(_ args: [String], env extra: [String: String] = [:], executable: String = Workspace.binary) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.environment = environment.merging(extra) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // stderr is drained on its own thread while stdout is read here: read one after the other,
        // a command that writes more than a pipe holds (64 KiB) to stderr before it closes stdout
        // blocks on that write for ever (progress records every 10 ms on a loaded machine did).
        let e = Mutex(Data())
        let drained = DispatchSemaphore(value: 0)
        let errReader = err.fileHandleForReading
        Thread {
            e.withLock { $0 = errReader.readDataToEndOfFile() }; drained.signal()
        }.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        p.waitUntilExit()
        return Run(
            code: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e.withLock { $0 }, as: UTF8.self))
    }

    /// Starts the binary in the background, output discarded (daemons, runs to be killed).
    func start(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.environment = environment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Runs and expects exit 0, failing the test with the output otherwise.
    @discardableResult
    func ok(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> Run {
        let r = try run(args)
        #expect(
            r.code == 0, "chainvault \(args.joined(separator: " ")) exited \(r.code)\n\(r.stdout)\n\(r.stderr)",
            sourceLocation: sourceLocation)
        return r
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    func write(_ relative: String, _ bytes: [UInt8], mode: Int = 0o644) throws {
        let p = path(relative)
        try FileManager.default.createDirectory(
            atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes), attributes: [.posixPermissions: mode])
    }

    /// A small tree with every kind of entry the format records.
    func makeSourceTree(_ name: String = "src") throws -> String {
        let random = SecureRandom.bytes(3_000_000)
        try write("\(name)/blocks/blk00000.dat", random)
        try write(
            "\(name)/blocks/text.log", Array(String(repeating: "UpdateTip: new best height=1234\n", count: 20_000).utf8)
        )
        try write("\(name)/config/priv_validator_state.json", Array("{\"height\":\"5\"}".utf8), mode: 0o600)
        try write("\(name)/empty-file", [])
        try FileManager.default.createDirectory(atPath: path("\(name)/empty-dir"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: path("\(name)/blocks/current"), withDestinationPath: "blk00000.dat")
        link(path("\(name)/blocks/text.log"), path("\(name)/hardlink.log"))
        chmod(path("\(name)/config"), 0o700)
        return path(name)
    }
}

/// Compares two trees: names, types, content, modes, file mtimes (ns), symlink targets.
func treeDifferences(_ a: String, _ b: String) throws -> [String] {
    var out: [String] = []
    let fm = FileManager.default
    let na = Set(try fm.contentsOfDirectory(atPath: a)), nb = Set(try fm.contentsOfDirectory(atPath: b))
    for n in na.symmetricDifference(nb) { out.append("\(n): on one side only") }
    for n in na.intersection(nb) {
        let pa = a + "/" + n, pb = b + "/" + n
        var sa = stat(), sb = stat()
        lstat(pa, &sa); lstat(pb, &sb)
        if sa.st_mode != sb.st_mode {
            out.append("\(n): mode \(String(sa.st_mode, radix: 8)) vs \(String(sb.st_mode, radix: 8))")
        }
        switch sa.st_mode & S_IFMT {
        case S_IFDIR: out += try treeDifferences(pa, pb).map { "\(n)/\($0)" }
        case S_IFLNK:
            if try fm.destinationOfSymbolicLink(atPath: pa) != fm.destinationOfSymbolicLink(atPath: pb) {
                out.append("\(n): link target")
            }
        default:
            if sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec {
                out.append("\(n): mtime")
            }
            if fm.contents(atPath: pa) != fm.contents(atPath: pb) { out.append("\(n): content") }
        }
    }
    return out
}

/// Relative path -> SHA-256 of the content (or the link target), for "old or new, not a mix".
func treeFingerprint(_ root: String) -> [String: String]? {
    guard FileManager.default.fileExists(atPath: root) else { return nil }
    var out: [String: String] = [:]
    for case let rel as String in FileManager.default.enumerator(atPath: root)?.allObjects ?? [] {
        let path = root + "/" + rel
        var st = stat()
        lstat(path, &st)
        switch st.st_mode & S_IFMT {
        case S_IFREG: out[rel] = SHA256.hash(Array(FileManager.default.contents(atPath: path) ?? Data())).hex
        case S_IFLNK: out[rel] = "link:" + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "")
        case S_IFDIR: out[rel] = "dir"
        default: out[rel] = "other"
        }
    }
    return out
}

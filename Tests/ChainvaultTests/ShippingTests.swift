import Foundation
import Glibc
import Testing

/// What a server without a Swift toolchain needs to run chainvault (issue 12): the release
/// binary built with `--static-swift-stdlib` (`.ci/run` builds it into `.build/static`, the
/// README's install command) links only Debian 12 base libraries plus libzstd, libssl and
/// libcrypto, and starts with the toolchain directory hidden.
struct ShippingTests {
    /// Debian 12 base libraries and the two the package depends on; the loader and the vDSO.
    static let allowed: Set<String> = [
        "linux-vdso.so.1", "libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1",
        "libzstd.so.1", "libssl.so.3", "libcrypto.so.3", "ld-linux-x86-64.so.2"
    ]

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let staticBinary = packageRoot + "/.build/static/release/chainvault"

    static func run(_ tool: String, _ args: [String]) throws -> (code: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The library names `ldd` lists (the first word of each line, directory dropped).
    static func libraries(_ binary: String) throws -> [String] {
        let (code, out) = try run("/usr/bin/ldd", [binary])
        #expect(code == 0, "ldd \(binary): \(out)")
        return out.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first.map {
                String($0.split(separator: "/").last ?? $0).trimmingCharacters(in: .whitespaces)
            }
        }
    }

    /// Even the development build no longer pulls in libcurl through FoundationNetworking.
    @Test func theReleaseBinaryLinksNoHTTPLibraryOfTheToolchain() throws {
        let libs = try Self.libraries(Workspace.binary)
        #expect(!libs.contains { $0.contains("curl") || $0.contains("FoundationNetworking") }, "\(libs)")
    }

    @Test(
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: staticBinary),
            "no static build at .build/static: run 'swift build -c release --static-swift-stdlib --build-path .build/static' (bash .ci/run does)"
        ))
    func theStaticBinaryNeedsOnlyDebianBaseLibraries() throws {
        let libs = try Self.libraries(Self.staticBinary)
        #expect(
            Set(libs).isSubset(of: Self.allowed),
            "unexpected libraries: \(Set(libs).subtracting(Self.allowed).sorted())")
        #expect(libs.contains("libssl.so.3") && libs.contains("libzstd.so.1"))
    }

    static let toolchain = "/opt/swift"

    @Test(
        .enabled(if: FileManager.default.isExecutableFile(atPath: staticBinary), "no static build at .build/static"),
        .enabled(if: FileManager.default.fileExists(atPath: toolchain), "the toolchain is not in /opt/swift here"))
    func theStaticBinaryRunsWithTheToolchainHidden() throws {
        let toolchain = Self.toolchain
        let probe = try Self.run("/usr/bin/unshare", ["-m", "true"])
        try #require(probe.code == 0, "skipped: unshare -m is not permitted here (\(probe.out))")
        let hide = "mount -t tmpfs none \(toolchain) && ls \(toolchain) | wc -l && "
        let hidden = try Self.run("/usr/bin/unshare", ["-m", "sh", "-c", hide + "\(Self.staticBinary) --help"])
        #expect(hidden.code == 0, "\(hidden.out)")
        #expect(
            hidden.out.hasPrefix("0\n") && hidden.out.contains("Usage: chainvault"),
            "the toolchain was hidden: \(hidden.out)")
        // The same with the development build fails for want of libswiftCore: the hiding works.
        let dynamic = try Self.run("/usr/bin/unshare", ["-m", "sh", "-c", hide + "\(Workspace.binary) --help"])
        #expect(dynamic.code != 0 && dynamic.out.contains("libswiftCore"), "\(dynamic.out)")
    }
}

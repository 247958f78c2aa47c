// swift-tools-version:6.0
// chainvault: backup and recovery for blockchain nodes.
// Layers (dependencies point down only; the compiler enforces them):
//   chainvault (CLI) -> VaultDaemon -> VaultEngine -> VaultRepository -> VaultStorage -> VaultCore -> CZstd, COpenSSL, CSystem
//   VaultEngine -> VaultChain (chain file formats and checks) -> VaultCore
import PackageDescription

// Every target in Swift 6 language mode (complete concurrency checking).
let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "chainvault",
    products: [
        .executable(name: "chainvault", targets: ["chainvault"])
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSystem"),
        .target(name: "VaultCore", dependencies: ["CZstd", "COpenSSL", "CSystem"], swiftSettings: swift6),
        .target(name: "VaultStorage", dependencies: ["VaultCore"], swiftSettings: swift6),
        .target(name: "VaultChain", dependencies: ["VaultCore"], swiftSettings: swift6),
        .target(
            name: "VaultRepository", dependencies: ["VaultStorage", "VaultCore"],
            exclude: ["FORMAT.md"], swiftSettings: swift6),
        .target(
            name: "VaultEngine", dependencies: ["VaultRepository", "VaultStorage", "VaultChain", "VaultCore"],
            swiftSettings: swift6),
        .target(
            name: "VaultDaemon", dependencies: ["VaultEngine", "VaultRepository", "VaultCore"], swiftSettings: swift6),
        .executableTarget(
            name: "chainvault",
            dependencies: ["VaultDaemon", "VaultEngine", "VaultChain", "VaultRepository", "VaultStorage", "VaultCore"],
            swiftSettings: swift6),
        .testTarget(
            name: "VaultCoreTests", dependencies: ["VaultCore"], resources: [.copy("Vectors")], swiftSettings: swift6),
        // Starts moto_server (S3) and a fault-injecting proxy for the S3 tests; never linked into chainvault.
        .target(
            name: "S3TestSupport", path: "Tests/S3TestSupport",
            exclude: ["moto_launcher.py", "fault_proxy.py", "rgw_launcher.py", "s3_admin.py"], swiftSettings: swift6),
        // What the unit test targets above VaultStorage share: temporary directories, key credentials,
        // repositories in memory. Never linked into chainvault.
        .target(
            name: "VaultTestSupport", dependencies: ["VaultRepository", "VaultStorage", "VaultCore"],
            path: "Tests/VaultTestSupport", swiftSettings: swift6),
        .testTarget(
            name: "VaultStorageTests", dependencies: ["VaultStorage", "S3TestSupport"], resources: [.copy("Vectors")],
            swiftSettings: swift6),
        .testTarget(
            name: "VaultRepositoryTests", dependencies: ["VaultRepository", "VaultTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: swift6),
        .testTarget(name: "VaultChainTests", dependencies: ["VaultChain"], swiftSettings: swift6),
        .testTarget(name: "VaultEngineTests", dependencies: ["VaultEngine", "VaultTestSupport"], swiftSettings: swift6),
        .testTarget(name: "VaultDaemonTests", dependencies: ["VaultDaemon", "VaultTestSupport"], swiftSettings: swift6),
        .testTarget(
            name: "ChainvaultTests",
            dependencies: [
                "chainvault", "S3TestSupport", "VaultDaemon", "VaultRepository", "VaultStorage", "VaultCore"
            ], swiftSettings: swift6)
    ]
)

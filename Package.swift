// swift-tools-version:6.0
import PackageDescription

// Each C library is declared once as a system-library target and imported by exactly one Swift
// target (`internal import`), so C types never leak into the API of the layers above.
/// The hot loops call small methods on per-worker scratch objects millions of times; dynamic
/// exclusivity checks on those accesses were ~10% of a profile. Static checking stays on.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "mask",
    products: [
        .executable(name: "mask", targets: ["mask"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Pinned to a minor range: MaskEngine/SHA256Block.swift calls a function of its
        // CCryptoBoringSSL module, which swift-crypto does not promise across minor releases.
        .package(url: "https://github.com/apple/swift-crypto", .upToNextMinor(from: "4.5.2")),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CPCRE2", pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(
            name: "CDeflate", pkgConfig: "libdeflate",
            providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(
            name: "CISAL", pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CMariaDB", pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]),

        .target(name: "MaskCore", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: hotPath),
        .target(name: "MaskRegex", dependencies: ["CPCRE2", "MaskCore"], swiftSettings: hotPath),
        .target(name: "MaskCompression", dependencies: ["CDeflate", "CISAL", "CZlib", "CZstd", "MaskCore"], swiftSettings: hotPath),
        .target(
            name: "MaskRules",
            dependencies: [
                "MaskCore", "MaskRegex",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .target(
            name: "MaskEngine",
            dependencies: [
                "MaskCore", "MaskRegex", "MaskRules",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: hotPath),
        .target(
            name: "MaskPipeline",
            dependencies: [
                "MaskCore", "MaskRules", "MaskEngine", "MaskCompression",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: hotPath),
        // libpq behind a connection and a COPY stream; nothing of mask's own above it.
        .target(name: "MaskPostgres", dependencies: ["CLibPQ", "MaskCore"]),
        // MariaDB Connector/C behind a connection and a streamed result (MySQL 5.7/8.x and MariaDB).
        .target(name: "MaskMySQL", dependencies: ["CMariaDB", "MaskCore"]),
        // The run ledger and the shared work queue: mask's tables, on top of the adapter.
        .target(name: "MaskLedger", dependencies: ["MaskPostgres", "MaskPipeline"]),
        // mask extract: a snapshot of tables (PostgreSQL COPY, MySQL rows), each masked by a MaskJob.
        .target(name: "MaskExtract", dependencies: ["MaskCore", "MaskRules", "MaskEngine", "MaskPipeline", "MaskPostgres", "MaskMySQL", "MaskLedger"]),
        // Object stores and the credentials clusters use; RSA (service-account JWTs) from swift-crypto's _CryptoExtras.
        .target(
            name: "MaskObjectStore",
            dependencies: ["CCurl", "MaskCore", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto")]),
        .target(
            name: "MaskBatch",
            dependencies: [
                "MaskCore", "MaskRules", "MaskEngine", "MaskCompression", "MaskPipeline", "MaskObjectStore", "MaskPostgres", "MaskLedger",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // The deterministic synthetic extract: bench's input, and the tests'.
        .target(name: "MaskSynthetic"),
        .target(
            name: "MaskBench",
            dependencies: ["MaskCore", "MaskRules", "MaskEngine", "MaskCompression", "MaskPipeline", "MaskSynthetic"],
            swiftSettings: hotPath),
        // mask rules suggest: a complete, fail-closed rules file from a sample.
        .target(name: "MaskSuggest", dependencies: ["MaskCore", "MaskRules", "MaskEngine", "MaskPipeline"]),
        .executableTarget(
            name: "mask",
            dependencies: [
                "MaskCore", "MaskRules", "MaskEngine", "MaskPipeline", "MaskBench", "MaskSynthetic", "MaskLedger", "MaskExtract", "MaskBatch",
                "MaskObjectStore", "MaskSuggest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .target(name: "MaskTestSupport", dependencies: ["MaskCompression"], path: "Tests/MaskTestSupport"),
        .testTarget(name: "MaskCoreTests", dependencies: ["MaskCore"]),
        .testTarget(name: "MaskRulesTests", dependencies: ["MaskRules", "MaskEngine", "MaskRegex", "MaskCore"]),
        .testTarget(name: "MaskEngineTests", dependencies: ["MaskEngine", "MaskRules", "MaskCore"]),
        .testTarget(name: "MaskObjectStoreTests", dependencies: ["MaskObjectStore", "MaskCore", "MaskTestSupport"]),
        .testTarget(
            name: "MaskCLITests",
            dependencies: ["MaskTestSupport", "MaskCompression", .product(name: "Yams", package: "Yams")]),
    ]
)

// swift-tools-version:6.1
import PackageDescription

// Modules are split by concept and dependency weight (ARCHITECTURE.md):
// `OutboxCore` is the store contract and the pure decisions, with no
// dependency at all; `UsageOutbox` (SQLite) and `OutboxPostgres` build on
// it and never on each other; an app that only appends links `UsageOutbox`
// (libsqlite3 and nothing heavy); the dispatcher brings AsyncHTTPClient and
// ServiceLifecycle; the CLI brings everything.
let package = Package(
    name: "outbox",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "outbox", targets: ["OutboxCLI"]),
        .executable(name: "outbox-bench", targets: ["OutboxBench"]),
        .library(name: "OutboxCore", targets: ["OutboxCore"]),
        .library(name: "UsageOutbox", targets: ["UsageOutbox"]),
        .library(name: "OutboxDispatcher", targets: ["OutboxDispatcher"]),
        .library(name: "ZuoraMock", targets: ["ZuoraMock"]),
        .library(name: "OutboxPostgres", targets: ["OutboxPostgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // Builds the DocC catalogs (`swift package generate-documentation`); no code depends on it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "OutboxCore"),
        .target(
            name: "UsageOutbox",
            dependencies: ["OutboxCore", "CSQLite"],
            resources: [],
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        // The PostgreSQL store lives apart, so an app that only uses SQLite
        // never builds postgres-nio.
        .target(
            name: "OutboxPostgres",
            dependencies: [
                "OutboxCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "HTTPServing",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "OutboxDispatcher",
            dependencies: [
                "OutboxCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "ZuoraMock",
            dependencies: [
                "HTTPServing",
                "OutboxCore",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "OutboxCLI",
            dependencies: [
                "OutboxCore",
                "UsageOutbox",
                "OutboxDispatcher",
                "OutboxPostgres",
                "ZuoraMock",
                "HTTPServing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Test support, never in a product: the recording VFS and the
        // harness of scripts/power-cut-test.
        .target(
            name: "PowerCutVFS",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        .executableTarget(
            name: "OutboxPowerCut",
            dependencies: [
                "OutboxCore", "UsageOutbox", "OutboxDispatcher", "ZuoraMock", "PowerCutVFS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "OutboxBench",
            dependencies: ["UsageOutbox", "CSQLite"],
            path: "Sources/OutboxBench"
        ),
        .testTarget(
            name: "UsageOutboxTests",
            dependencies: ["OutboxCore", "UsageOutbox", "CSQLite"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "PowerCutTests",
            dependencies: ["OutboxPowerCut"]
        ),
        .testTarget(
            name: "OutboxCLITests",
            dependencies: ["OutboxCore", "UsageOutbox"]
        ),
        .testTarget(
            name: "OutboxDispatcherTests",
            dependencies: [
                "OutboxCore", "OutboxDispatcher", "ZuoraMock", "UsageOutbox", "OutboxPostgres", "HTTPServing",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            resources: [.copy("Fixtures")]
        ),
    ]
)

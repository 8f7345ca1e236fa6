// swift-tools-version:6.2
import PackageDescription

/// One set of compiler settings for every target: Swift 6 language mode (strict concurrency)
/// plus the upcoming features we want to hold ourselves to.
/// In CI (`CI=true`) every warning in our own targets is an error.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
] + (Context.environment["CI"] == "true" ? [.treatAllWarnings(as: .error)] : [])

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
]
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let grdb: Target.Dependency = .product(name: "GRDB", package: "GRDB.swift")

let package = Package(
    name: "rolloutd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rolloutd", targets: ["rolloutd"]),
        .executable(name: "rolloutctl", targets: ["rolloutctl"]),
        .executable(name: "rollout-bench", targets: ["rollout-bench"]),
        .library(name: "RolloutClient", targets: ["RolloutClient"]),
    ],
    traits: [
        .default(enabledTraits: ["AWS"]),
        .trait(name: "AWS", description: "The AWS provider (S3, SQS, Secrets Manager, IMDS, Lambda rollouts); links libcurl."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // OpenSSL libcrypto, wrapped once.
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libcurl, wrapped once.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // glibc's malloc statistics (mallinfo2), for the tests that prove memory stays flat.
        .systemLibrary(name: "CMalloc"),
        // Domain types, JSON values, errors, capability protocols, configuration model. No I/O.
        .target(name: "RolloutCore", swiftSettings: swiftSettings),
        // SHA-256, MD5, HMAC over libcrypto; contentId.
        .target(name: "RolloutCrypto", dependencies: ["CCrypto"], swiftSettings: swiftSettings),
        // AWS Signature Version 4, alone: canonical requests, signing keys, no networking.
        .target(name: "AWSSigV4", dependencies: ["RolloutCore", "RolloutCrypto"], swiftSettings: swiftSettings),
        // HTTP client protocol and its libcurl implementation, off the cooperative pool.
        .target(name: "CurlHTTP", dependencies: ["CCurl", "RolloutCore"], swiftSettings: swiftSettings),
        // The AWS provider: endpoint/region resolution, credentials, retries, service clients.
        .target(
            name: "RolloutAWS",
            dependencies: ["RolloutCore", "RolloutCrypto", "AWSSigV4", "CurlHTTP", logging],
            swiftSettings: swiftSettings
        ),
        // The rollout engine: the pure traffic-shifting state machine (events in, actions out).
        .target(name: "RolloutEngine", dependencies: ["RolloutCore", logging], swiftSettings: swiftSettings),
        // TOML configuration loading and validation.
        .target(name: "RolloutConfig", dependencies: ["RolloutCore", "TOMLKit"], swiftSettings: swiftSettings),
        // JSON-RPC 2.0 envelope, one type per method, registry and dispatcher. No I/O.
        .target(name: "RolloutRPC", dependencies: ["RolloutCore", logging], swiftSettings: swiftSettings),
        // Unix-socket listener, line framing, per-connection concurrency, peer credentials.
        .target(name: "RolloutServer", dependencies: ["RolloutCore", "RolloutRPC", logging, .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")] + nio, swiftSettings: swiftSettings),
        // SQLite: migrations, idempotency records, upload journal, leases, rollout records.
        .target(name: "RolloutStore", dependencies: ["RolloutCore", "RolloutRPC", "RolloutCrypto", "RolloutEngine", grdb], swiftSettings: swiftSettings),
        // The embedded `local` provider.
        .target(name: "RolloutLocal", dependencies: ["RolloutCore", "RolloutCrypto", grdb, "TOMLKit"], swiftSettings: swiftSettings),
        // Wiring: config -> services -> ServiceGroup; method handlers.
        .target(
            name: "RolloutDaemon",
            dependencies: [
                "RolloutCore", "RolloutConfig", "RolloutRPC", "RolloutServer", "RolloutStore", "RolloutLocal", "RolloutEngine", logging,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .target(name: "RolloutAWS", condition: .when(traits: ["AWS"])),
                .target(name: "CurlHTTP", condition: .when(traits: ["AWS"])),
                grdb,
            ],
            resources: [.embedInCode("Resources/rollout.openrpc.json")],
            swiftSettings: swiftSettings
        ),
        // Swift client used by rolloutctl, the benchmark and the tests.
        .target(name: "RolloutClient", dependencies: ["RolloutCore", "RolloutRPC"] + nio, swiftSettings: swiftSettings),
        .executableTarget(
            name: "rolloutd",
            dependencies: [
                "RolloutDaemon", "RolloutCore", logging,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "rolloutctl",
            dependencies: [
                "RolloutClient", "RolloutConfig", "RolloutCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .target(name: "RolloutAWS", condition: .when(traits: ["AWS"])),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "rollout-bench", dependencies: ["RolloutCore", "AWSSigV4"], swiftSettings: swiftSettings),

        .testTarget(name: "RolloutCoreTests", dependencies: ["RolloutCore"], swiftSettings: swiftSettings),
        .testTarget(name: "RolloutCryptoTests", dependencies: ["RolloutCrypto"], swiftSettings: swiftSettings),
        .testTarget(name: "AWSSigV4Tests", dependencies: ["AWSSigV4", "RolloutCrypto"], swiftSettings: swiftSettings),
        .testTarget(name: "CurlHTTPTests", dependencies: ["CurlHTTP", "RolloutCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RolloutAWSTests",
            dependencies: ["RolloutAWS", "RolloutCore", "AWSSigV4", "CurlHTTP"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "RolloutEngineTests", dependencies: ["RolloutEngine", "RolloutCore", logging], swiftSettings: swiftSettings),
        .testTarget(name: "RolloutConfigTests", dependencies: ["RolloutConfig"], swiftSettings: swiftSettings),
        .testTarget(name: "RolloutRPCTests", dependencies: ["RolloutRPC", "RolloutCore", logging], swiftSettings: swiftSettings),
        .testTarget(name: "RolloutStoreTests", dependencies: ["RolloutStore", "RolloutCore", "RolloutRPC", "RolloutEngine"], swiftSettings: swiftSettings),
        .testTarget(name: "RolloutLocalTests", dependencies: ["RolloutLocal", "RolloutCore", "RolloutCrypto", "CMalloc", grdb], swiftSettings: swiftSettings),
        .testTarget(
            name: "RolloutDaemonTests",
            dependencies: ["RolloutClient", "RolloutCore", "RolloutRPC"],
            swiftSettings: swiftSettings
        ),
    ]
)

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
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")

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
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // OpenSSL libcrypto, wrapped once: its headers (libssl-dev); the library is loaded with dlopen on first use.
        .target(name: "CCrypto"),
        // libFuzzer's driver entry point, for rollout-fuzz under -sanitize=fuzzer (nothing to link otherwise).
        .systemLibrary(name: "CLibFuzzer"),
        // SQLite, wrapped once (RolloutStore owns the small Swift wrapper over it).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // libcurl, wrapped once.
        // libcurl's headers (libcurl4-openssl-dev) at build time; the library itself is loaded
        // with dlopen when an HTTP client is first made, so the local provider never maps it.
        .target(name: "CCurl"),
        // openat2(2), which Swift cannot reach through the variadic syscall(2).
        .target(name: "COpenat2"),
        // The POSIX plumbing, the only place that calls errno-returning C: file descriptors,
        // errno errors, mkdir -p and the other path operations, the wall clock, child
        // processes, the daemon's listening socket, blocking-work runner, and the file roots
        // that confine client paths (openat2 beneath a held directory descriptor).
        .target(name: "RolloutSystem", dependencies: ["COpenat2", "CMalloc"], swiftSettings: swiftSettings),
        // glibc's malloc statistics and trim (mallinfo2, malloc_trim): the heap scavenger, and the
        // tests that prove memory stays flat.
        .systemLibrary(name: "CMalloc"),
        // JSON: the value type, a strict parser (byte offsets in errors, depth limit), the
        // serializer and the Codable bridge. No dependencies.
        .target(name: "RolloutJSON", swiftSettings: swiftSettings),
        // TOML 1.0: the value types and a strict parser (byte-exact keys, line and column in
        // errors, depth limit) that the configuration and the local secrets file are read with.
        // No dependencies.
        .target(name: "RolloutTOML", swiftSettings: swiftSettings),
        // Domain types, errors, capability protocols, configuration model. No I/O. Re-exports RolloutJSON.
        .target(name: "RolloutCore", dependencies: ["RolloutJSON", "RolloutSystem"], swiftSettings: swiftSettings),
        // SHA-256, MD5, HMAC over libcrypto; contentId.
        .target(name: "RolloutCrypto", dependencies: ["CCrypto"], swiftSettings: swiftSettings),
        // AWS Signature Version 4, alone: canonical requests, signing keys, no networking.
        .target(name: "AWSSigV4", dependencies: ["RolloutCore", "RolloutCrypto"], swiftSettings: swiftSettings),
        // HTTP client protocol and its libcurl implementation, off the cooperative pool.
        .target(name: "CurlHTTP", dependencies: ["CCurl", "RolloutCore", "RolloutSystem"], swiftSettings: swiftSettings),
        // AWS endpoint and region resolution and the shared config/credentials files; no networking,
        // so rolloutctl's `config explain` uses it without linking libcurl.
        .target(name: "AWSConfig", dependencies: ["RolloutCore", "RolloutSystem"], swiftSettings: swiftSettings),
        // The AWS provider: credentials, retries, service clients (endpoints from AWSConfig).
        .target(
            name: "RolloutAWS",
            dependencies: ["AWSConfig", "RolloutCore", "RolloutSystem", "RolloutCrypto", "AWSSigV4", "CurlHTTP", logging, metrics],
            swiftSettings: swiftSettings
        ),
        // Fleet mode (SPEC §11): the shared DynamoDB table (item layout, conditional writes) and the
        // pure lease state machines (holder and adopter). Its own module rather than a folder of
        // RolloutAWS: RolloutAWS holds service clients and capabilities, this is consensus logic
        // over one of them, which the engine will drive.
        .target(name: "RolloutFleet", dependencies: ["RolloutCore", "RolloutCrypto", "RolloutAWS", "RolloutEngine", logging, metrics], swiftSettings: swiftSettings),
        // Rollouts: the pure traffic-shifting state machine (events in, actions out), the native
        // and CodeDeploy engines behind one protocol, preflight, conflicts, waiting and records
        // (behind a store protocol). AWS is reached through RolloutCore's ports.
        .target(name: "RolloutEngine", dependencies: ["RolloutCore", "RolloutCrypto", logging, metrics], swiftSettings: swiftSettings),
        // TOML configuration loading and validation.
        .target(name: "RolloutConfig", dependencies: ["RolloutCore", "RolloutSystem", "RolloutTOML"], swiftSettings: swiftSettings),
        // JSON-RPC 2.0 envelope, one type per method, registry and dispatcher. No I/O.
        .target(name: "RolloutRPC", dependencies: ["RolloutCore", logging, metrics], swiftSettings: swiftSettings),
        // The server on the Unix socket (which RolloutSystem's UnixListener prepares): line framing,
        // per-connection concurrency, peer credentials.
        .target(name: "RolloutServer", dependencies: ["RolloutCore", "RolloutSystem", "RolloutRPC", logging, metrics, .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")] + nio, swiftSettings: swiftSettings),
        // The HTTP listener of `[server.http]`: Prometheus exposition (/metrics) and probes (/livez, /readyz).
        .target(
            name: "RolloutHTTP",
            dependencies: [
                "RolloutCore", logging, metrics,
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ] + nio,
            swiftSettings: swiftSettings
        ),
        // SQLite, the only module that speaks SQL (or imports CSQLite): its connection wrapper,
        // migrations, idempotency records, upload journal, leases, rollout rows, the `local`
        // provider's tables. It implements ports declared in RolloutCore (RolloutCrypto only
        // hashes fingerprints).
        .target(name: "RolloutStore", dependencies: ["CSQLite", "RolloutCore", "RolloutSystem", "RolloutCrypto"], swiftSettings: swiftSettings),
        // The embedded `local` provider. Its tables live in RolloutStore's database (reached
        // through RolloutCore's `LocalProviderTables` port), so that an effect and its
        // idempotency record commit in one transaction.
        .target(
            name: "RolloutLocal",
            dependencies: ["RolloutCore", "RolloutSystem", "RolloutCrypto", "RolloutRPC", "RolloutTOML"],
            swiftSettings: swiftSettings
        ),
        // Wiring: config -> services -> ServiceGroup; method handlers.
        .target(
            name: "RolloutDaemon",
            dependencies: [
                "RolloutCore", "RolloutSystem", "RolloutConfig", "RolloutRPC", "RolloutServer", "RolloutStore",
                "RolloutLocal", "RolloutEngine", "RolloutHTTP", logging, metrics,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .target(name: "RolloutAWS", condition: .when(traits: ["AWS"])),
                .target(name: "AWSConfig", condition: .when(traits: ["AWS"])),
                .target(name: "CurlHTTP", condition: .when(traits: ["AWS"])),
                .target(name: "RolloutFleet", condition: .when(traits: ["AWS"])),
            ],
            resources: [.embedInCode("Resources/rollout.openrpc.json")],
            swiftSettings: swiftSettings
        ),
        // Swift client used by rolloutctl, the benchmark and the tests.
        .target(name: "RolloutClient", dependencies: ["RolloutCore", "RolloutRPC"] + nio, swiftSettings: swiftSettings),
        .executableTarget(
            name: "rolloutd",
            dependencies: [
                "RolloutDaemon", "RolloutConfig", "RolloutCore", logging,
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "rolloutctl",
            dependencies: [
                "RolloutClient", "RolloutConfig", "RolloutCore", "RolloutRPC", "RolloutSystem",
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .target(name: "AWSConfig", condition: .when(traits: ["AWS"])),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "rollout-bench", dependencies: ["RolloutCore", "AWSSigV4"], swiftSettings: swiftSettings),
        // Fuzzes the input path (framer, JSON parser, envelope, owed answers). `make fuzz` builds it
        // with -sanitize=fuzzer for libFuzzer; a normal build makes it a replayer of Fuzz/corpus.
        .executableTarget(
            name: "rollout-fuzz",
            dependencies: [
                "CLibFuzzer", "RolloutServer", "RolloutRPC", "RolloutCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "RolloutSystemTests", dependencies: ["RolloutSystem"], swiftSettings: swiftSettings),
        .testTarget(name: "RolloutJSONTests", dependencies: ["RolloutJSON"], swiftSettings: swiftSettings),
        // What several test targets share (a seeded generator, rm -rf in-process); a library, so tests only link it.
        .target(name: "RolloutTestSupport", path: "Tests/RolloutTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "RolloutTOMLTests", dependencies: ["RolloutTOML", "RolloutSystem", "RolloutTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "RolloutCoreTests", dependencies: ["RolloutCore"], swiftSettings: swiftSettings),
        .testTarget(name: "RolloutCryptoTests", dependencies: ["RolloutCrypto"], swiftSettings: swiftSettings),
        .testTarget(name: "AWSSigV4Tests", dependencies: ["AWSSigV4", "RolloutCrypto"], swiftSettings: swiftSettings),
        .testTarget(name: "CurlHTTPTests", dependencies: ["CurlHTTP", "RolloutCore", "RolloutSystem"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RolloutAWSTests",
            dependencies: ["RolloutAWS", "AWSConfig", "RolloutCore", "RolloutSystem", "AWSSigV4", "CurlHTTP", "RolloutTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RolloutFleetTests",
            dependencies: ["RolloutFleet", "RolloutAWS", "AWSConfig", "RolloutCore", "CurlHTTP", "RolloutSystem", "RolloutTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RolloutEngineTests", dependencies: ["RolloutEngine", "RolloutCore", "RolloutTestSupport", logging], swiftSettings: swiftSettings
        ),
        .testTarget(name: "RolloutConfigTests", dependencies: ["RolloutConfig"], swiftSettings: swiftSettings),
        .testTarget(name: "RolloutRPCTests", dependencies: ["RolloutRPC", "RolloutCore", logging], swiftSettings: swiftSettings),
        // White-box tests of the store: fixtures that only raw SQL can write (a schema of an
        // earlier version, a record left by a killed daemon) use the store's own connection;
        // Fixtures/ holds a database file an earlier version wrote.
        .testTarget(
            name: "RolloutStoreTests",
            dependencies: ["RolloutStore", "CSQLite", "RolloutCore", "RolloutRPC", "RolloutEngine", "RolloutTestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RolloutLocalTests",
            dependencies: ["RolloutLocal", "RolloutCore", "RolloutSystem", "RolloutCrypto", "RolloutStore", "RolloutRPC", "CMalloc"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RolloutServerTests",
            dependencies: [
                "RolloutServer", "RolloutRPC", "RolloutCore", "RolloutSystem", "RolloutTestSupport", logging,
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RolloutDaemonTests",
            dependencies: ["RolloutClient", "RolloutCore", "RolloutRPC", "RolloutTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)

import RolloutConfig
import Testing

/// One value for one key, and whether validation must accept it.
struct LimitCase: Sendable, CustomTestStringConvertible {
    var key: String
    var literal: String
    var accepted: Bool

    var testDescription: String { "\(key) = \(literal) \(accepted ? "accepted" : "rejected")" }

    /// Each range's bounds, just inside and just outside.
    static func range(_ key: String, _ lower: Int, _ upper: Int) -> [LimitCase] {
        [
            .init(key: key, literal: "\(lower)", accepted: true),
            .init(key: key, literal: "\(upper)", accepted: true),
            .init(key: key, literal: "\(lower - 1)", accepted: false),
            .init(key: key, literal: "\(upper + 1)", accepted: false),
        ]
    }

    static func values(_ key: String, accepted: [String], rejected: [String]) -> [LimitCase] {
        accepted.map { .init(key: key, literal: $0, accepted: true) }
            + rejected.map { .init(key: key, literal: $0, accepted: false) }
    }

    static let mib = 1 << 20
    static let gib = 1 << 30

    static let all: [LimitCase] =
        range("server.max_request_bytes", 1024, 64 * mib)
        + range("server.max_inflight_per_connection", 1, 4096)
        + range("server.max_batch_items", 1, 10_000)
        + range("server.shutdown_grace_secs", 0, 3600)
        + range("server.idempotency_ttl_secs", 1, 30 * 86_400)
        + range("server.slow_request_ms", 1, 3_600_000)
        + values("server.log_level", accepted: ["\"debug\"", "\"info\"", "\"critical\""], rejected: ["\"verbose\"", "\"INFO\"", "3"])
        + range("cloud.aws.max_attempts", 1, 10)
        + range("cloud.aws.s3.multipart_chunk_bytes", 5 * mib, 5 * gib)
        + range("cloud.aws.s3.max_snapshot_part_bytes", 1, 10 * gib)
        + range("cloud.aws.s3.upload_concurrency", 1, 64)
        + range("cloud.aws.sqs.visibility_timeout_secs", 0, 43_200)
        + range("cloud.aws.secrets.cache_ttl_secs", 0, 86_400)
        + range("cloud.aws.imds.token_ttl_secs", 1, 21_600)
        + range("cloud.aws.rollout.alarm_poll_secs", 1, 3600)
        + range("cloud.local.visibility_timeout_secs", 0, 43_200)
        + values(
            "server.socket",
            accepted: ["\"\(String(repeating: "s", count: 107))\"", "\"/run/rollout.sock\""],
            // 108 ASCII bytes; 54 two-byte characters (108 bytes); empty.
            rejected: [
                "\"\(String(repeating: "s", count: 108))\"", "\"\(String(repeating: "é", count: 54))\"", "\"\"",
            ]
        )
        + values(
            "server.socket_mode", accepted: ["\"0000\"", "\"0777\"", "\"600\""],
            rejected: ["\"1000\"", "\"0777777777777\""])
        + values("server.allowed_uids", accepted: ["[]", "[0, 4294967294]"], rejected: ["[-1]", "[4294967295]"])
        + values("server.file_roots", accepted: ["[]", "[\"a\", \"/b\"]"], rejected: ["[\"a\", \"\"]"])
        + values("server.state_dir", accepted: ["\"s\""], rejected: ["\"\""])
        + values("cloud.local.root", accepted: ["\"r\""], rejected: ["\"\""])
        + values("cloud.local.secrets_allowlist", accepted: ["[\"demo/token\"]"], rejected: ["[\"\"]"])
        + values("cloud.aws.secrets.allowlist", accepted: ["[\"a/b\"]"], rejected: ["[\"\"]"])
        + values("cloud.region", accepted: ["\"eu-west-1\""], rejected: ["\"\""])
        + values("cloud.aws.profile", accepted: ["\"dev\""], rejected: ["\"\""])
        + values("cloud.aws.s3.bucket", accepted: ["\"b\""], rejected: ["\"\""])
        + values(
            "cloud.aws.sqs.queue_url",
            accepted: ["\"https://sqs.us-west-2.amazonaws.com/123456789012/q\""],
            rejected: ["\"sqs/q\""]
        )
        + ["s3", "sqs", "secrets", "lambda", "cloudwatch", "sns", "codedeploy", "sts"].flatMap { service in
            values(
                "cloud.aws.\(service).endpoint_url",
                accepted: ["\"http://localhost:4566\"", "\"https://s3.example.com/base\"", "\"HTTP://[::1]:9000\""],
                rejected: ["\"localhost:4566\"", "\"ftp://example.com\"", "\"http://\"", "\"\""]
            )
        }
}

@Suite("Hard limits")
struct LimitTests {
    @Test(arguments: LimitCase.all)
    func limit(_ limit: LimitCase) {
        let found = problems(in: document(setting: limit.key, to: limit.literal))
        if limit.accepted {
            #expect(found.isEmpty)
        } else {
            #expect(found.map(\.key) == [limit.key])
            #expect(found.allSatisfy { $0.message.contains(limit.key) && $0.file == "rollout.toml" })
        }
    }

    @Test func rangeMessageNamesFileKeyValueAndRange() throws {
        let problem = try #require(problems(in: "[server]\nmax_inflight_per_connection = 0\n").first)
        #expect(
            problem.description
                == "rollout.toml: server.max_inflight_per_connection = 0 is out of range; allowed 1...4096"
        )
        let bytes = try #require(problems(in: "[cloud.aws.s3]\nmultipart_chunk_bytes = 1024\n").first)
        #expect(
            bytes.message
                == "cloud.aws.s3.multipart_chunk_bytes = 1024 is out of range; "
                + "allowed 5242880...5368709120 (5 MiB...5 GiB)"
        )
    }

    @Test func socketLengthIsCountedInUTF8Bytes() throws {
        let problem = try #require(
            problems(in: document(setting: "server.socket", to: "\"\(String(repeating: "é", count: 54))\"")).first)
        #expect(problem.message == "server.socket is 108 bytes long; a Unix socket path must be shorter than 108 bytes")
    }

    @Test func socketModeMustBeOctalDigits() {
        for literal in ["\"0800\"", "\"rw-------\"", "\"\"", "600", "0o600"] {
            let found = problems(in: document(setting: "server.socket_mode", to: literal))
            #expect(found.map(\.key) == ["server.socket_mode"], "\(literal)")
            #expect(
                found.first?.message.hasPrefix("server.socket_mode must be a string of octal digits like \"0600\"")
                    == true)
        }
        #expect(
            problems(in: document(setting: "server.socket_mode", to: "\"1777\"")).map(\.message)
                == ["server.socket_mode = \"1777\" is out of range; allowed \"0000\"...\"0777\""]
        )
    }

    @Test func snapshotPartMustFitInTenThousandChunks() {
        let mib = 1 << 20
        // With chunks in range (>= 5 MiB), 10000 chunks always exceed the 10 GiB cap, so
        // only an out-of-range chunk size can make this rule bite.
        let inside = "[cloud.aws.s3]\nmultipart_chunk_bytes = \(mib)\nmax_snapshot_part_bytes = \(mib * 10_000)\n"
        #expect(problems(in: inside).map(\.key) == ["cloud.aws.s3.multipart_chunk_bytes"])

        let outside = "[cloud.aws.s3]\nmultipart_chunk_bytes = \(mib)\nmax_snapshot_part_bytes = \(mib * 10_000 + 1)\n"
        let found = problems(in: outside)
        #expect(found.map(\.key) == ["cloud.aws.s3.multipart_chunk_bytes", "cloud.aws.s3.max_snapshot_part_bytes"])
        #expect(
            found.last?.message
                == "cloud.aws.s3.max_snapshot_part_bytes = 10485760001 is more than "
                + "cloud.aws.s3.multipart_chunk_bytes × 10000 = 10485760000 "
                + "(S3 allows at most 10000 parts per upload)"
        )
    }

    @Test func hugeChunkSizeDoesNotOverflow() {
        let found = problems(in: "[cloud.aws.s3]\nmultipart_chunk_bytes = 9223372036854775807\n")
        #expect(found.map(\.key) == ["cloud.aws.s3.multipart_chunk_bytes"])
    }
}

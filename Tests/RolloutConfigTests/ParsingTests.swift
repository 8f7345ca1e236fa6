import RolloutConfig
import RolloutCore
import Testing

@Suite("Parsing and validation")
struct ParsingTests {
    @Test func emptyDocumentGivesDefaults() throws {
        #expect(try ConfigurationLoader.parse(toml: "", file: "rollout.toml") == .default)
        #expect(
            try ConfigurationLoader.parse(toml: "[server]\n[cloud]\n[cloud.aws.s3]\n", file: "rollout.toml") == .default
        )
    }

    @Test func defaultsMatchTheSpec() {
        let config = Configuration.default
        #expect(config.server.socket == ".rollout/rollout.sock")
        #expect(config.server.socketMode == 0o600)
        #expect(config.server.allowedUIDs == [])
        #expect(config.server.stateDir == ".rollout/state")
        #expect(config.server.fileRoots == [".rollout/files"])
        #expect(config.server.maxRequestBytes == 1_048_576)
        #expect(config.server.maxInflightPerConnection == 64)
        #expect(config.server.maxBatchItems == 1000)
        #expect(config.server.shutdownGraceSecs == 20)
        #expect(config.server.idempotencyTTLSecs == 86_400)
        #expect(config.cloud.provider == .local)
        #expect(config.cloud.region == nil)
        #expect(config.cloud.aws.profile == nil)
        #expect(config.cloud.aws.maxAttempts == 3)
        #expect(config.cloud.aws.s3.bucket == nil)
        #expect(config.cloud.aws.s3.prefix == nil)
        #expect(config.cloud.aws.s3.multipartChunkBytes == 16_777_216)
        #expect(config.cloud.aws.s3.maxSnapshotPartBytes == 5_368_709_120)
        #expect(config.cloud.aws.s3.uploadConcurrency == 4)
        #expect(config.cloud.aws.s3.endpointURL == nil)
        #expect(config.cloud.aws.s3.forcePathStyle == false)
        #expect(config.cloud.aws.sqs.queueURL == nil)
        #expect(config.cloud.aws.sqs.visibilityTimeoutSecs == 300)
        #expect(config.cloud.aws.secrets.allowlist == [])
        #expect(config.cloud.aws.secrets.cacheTTLSecs == 300)
        #expect(config.cloud.aws.imds.tokenTTLSecs == 21_600)
        #expect(config.cloud.aws.rollout.engine == .native)
        #expect(config.cloud.aws.rollout.alarmPollSecs == 10)
        #expect(config.cloud.aws.rollout.codedeployApplication == nil)
        #expect(config.cloud.aws.rollout.codedeployDeploymentGroup == nil)
        #expect(config.cloud.aws.lambda.endpointURL == nil)
        #expect(config.cloud.local.root == ".rollout/local")
        #expect(config.cloud.local.secretsAllowlist == [])
        #expect(config.cloud.local.visibilityTimeoutSecs == 30)
        #expect(ConfigurationLoader.validate(config, file: "<defaults>", awsProviderCompiledIn: false).isEmpty)
    }

    @Test func exampleFileParsesToTheExpectedValue() throws {
        let path = repositoryFile("config/example-aws.toml")
        let config = try ConfigurationLoader.load(.commandLine(path: path))

        var expected = Configuration.default
        expected.server.allowedUIDs = [1000]
        expected.server.http = Configuration.HTTP(listen: .init(host: "127.0.0.1", port: 9464))
        expected.cloud.provider = .aws
        expected.cloud.region = "us-west-2"
        expected.cloud.aws.profile = "default"
        expected.cloud.aws.s3.bucket = "my-rollout-bucket"
        expected.cloud.aws.s3.prefix = "runs/"
        expected.cloud.aws.sqs.queueURL = "https://sqs.us-west-2.amazonaws.com/123456789012/rollout"
        expected.cloud.aws.secrets.allowlist = ["rollout/hf-token"]
        expected.cloud.aws.rollout.codedeployApplication = "rollout-app"
        expected.cloud.aws.rollout.codedeployDeploymentGroup = "rollout-group"
        let emulator = "http://localhost:4566"
        expected.cloud.aws.s3.endpointURL = emulator
        expected.cloud.aws.sqs.endpointURL = emulator
        expected.cloud.aws.secrets.endpointURL = emulator
        expected.cloud.aws.lambda.endpointURL = emulator
        expected.cloud.aws.cloudwatch.endpointURL = emulator
        expected.cloud.aws.sns.endpointURL = emulator
        expected.cloud.aws.codedeploy.endpointURL = emulator
        expected.cloud.aws.sts.endpointURL = emulator
        #expect(config == expected)
    }

    @Test func everyKeyIsRead() throws {
        let toml = """
            [server]
            socket = "/run/r.sock"
            socket_mode = "0660"
            allowed_uids = [1000, 1001]
            state_dir = "/var/lib/rollout"
            file_roots = ["/data", "/models"]
            max_request_bytes = 2048
            max_inflight_per_connection = 8
            max_batch_items = 50
            shutdown_grace_secs = 0
            idempotency_ttl_secs = 60

            [cloud]
            provider = "aws"
            region = "eu-central-1"

            [cloud.aws]
            profile = "prod"
            max_attempts = 5

            [cloud.aws.s3]
            bucket = "b"
            prefix = "p/"
            multipart_chunk_bytes = 8388608
            max_snapshot_part_bytes = 1000
            upload_concurrency = 16
            endpoint_url = "http://s3.local"
            force_path_style = true

            [cloud.aws.sqs]
            queue_url = "http://sqs.local/1/q"
            visibility_timeout_secs = 0
            endpoint_url = "http://sqs.local"

            [cloud.aws.secrets]
            allowlist = ["a", "b"]
            cache_ttl_secs = 0
            endpoint_url = "https://secrets.local"

            [cloud.aws.imds]
            token_ttl_secs = 60

            [cloud.aws.rollout]
            engine = "codedeploy"
            alarm_poll_secs = 30
            codedeploy_application = "app"
            codedeploy_deployment_group = "group"

            [cloud.aws.lambda]
            endpoint_url = "http://lambda.local"
            [cloud.aws.cloudwatch]
            endpoint_url = "http://cloudwatch.local"
            [cloud.aws.sns]
            endpoint_url = "http://sns.local"
            [cloud.aws.codedeploy]
            endpoint_url = "http://codedeploy.local"
            [cloud.aws.sts]
            endpoint_url = "http://sts.local"

            [cloud.local]
            root = "/srv/local"
            secrets_allowlist = ["x"]
            visibility_timeout_secs = 5
            """
        let config = try ConfigurationLoader.parse(toml: toml, file: "rollout.toml")
        var expected = Configuration()
        expected.server.socket = "/run/r.sock"
        expected.server.socketMode = 0o660
        expected.server.allowedUIDs = [1000, 1001]
        expected.server.stateDir = "/var/lib/rollout"
        expected.server.fileRoots = ["/data", "/models"]
        expected.server.maxRequestBytes = 2048
        expected.server.maxInflightPerConnection = 8
        expected.server.maxBatchItems = 50
        expected.server.shutdownGraceSecs = 0
        expected.server.idempotencyTTLSecs = 60
        expected.cloud.provider = .aws
        expected.cloud.region = "eu-central-1"
        expected.cloud.aws.profile = "prod"
        expected.cloud.aws.maxAttempts = 5
        expected.cloud.aws.s3.bucket = "b"
        expected.cloud.aws.s3.prefix = "p/"
        expected.cloud.aws.s3.multipartChunkBytes = 8_388_608
        expected.cloud.aws.s3.maxSnapshotPartBytes = 1000
        expected.cloud.aws.s3.uploadConcurrency = 16
        expected.cloud.aws.s3.endpointURL = "http://s3.local"
        expected.cloud.aws.s3.forcePathStyle = true
        expected.cloud.aws.sqs.queueURL = "http://sqs.local/1/q"
        expected.cloud.aws.sqs.visibilityTimeoutSecs = 0
        expected.cloud.aws.sqs.endpointURL = "http://sqs.local"
        expected.cloud.aws.secrets.allowlist = ["a", "b"]
        expected.cloud.aws.secrets.cacheTTLSecs = 0
        expected.cloud.aws.secrets.endpointURL = "https://secrets.local"
        expected.cloud.aws.imds.tokenTTLSecs = 60
        expected.cloud.aws.rollout.engine = .codedeploy
        expected.cloud.aws.rollout.alarmPollSecs = 30
        expected.cloud.aws.rollout.codedeployApplication = "app"
        expected.cloud.aws.rollout.codedeployDeploymentGroup = "group"
        expected.cloud.aws.lambda.endpointURL = "http://lambda.local"
        expected.cloud.aws.cloudwatch.endpointURL = "http://cloudwatch.local"
        expected.cloud.aws.sns.endpointURL = "http://sns.local"
        expected.cloud.aws.codedeploy.endpointURL = "http://codedeploy.local"
        expected.cloud.aws.sts.endpointURL = "http://sts.local"
        expected.cloud.local.root = "/srv/local"
        expected.cloud.local.secretsAllowlist = ["x"]
        expected.cloud.local.visibilityTimeoutSecs = 5
        #expect(config == expected)
    }

    @Test func unknownKeyListsTheKnownKeys() {
        let found = problems(in: "[server]\nsockett = \"x\"\n")
        #expect(found.map(\.key) == ["server.sockett"])
        #expect(
            found.map(\.description) == [
                "rollout.toml: unknown key \"server.sockett\" (known keys in [server]: socket, socket_mode, "
                    + "allowed_uids, state_dir, file_roots, max_request_bytes, max_inflight_per_connection, "
                    + "max_batch_items, shutdown_grace_secs, idempotency_ttl_secs, log_level, slow_request_ms)"
            ]
        )
        #expect(
            problems(in: "verbose = true\n").map(\.message)
                == ["unknown key \"verbose\" (only tables are allowed at the top level: [server], [cloud], [fleet])"]
        )
        #expect(
            problems(in: "[cloud.aws.sts]\nregion = \"x\"\n").map(\.message)
                == ["unknown key \"cloud.aws.sts.region\" (known keys in [cloud.aws.sts]: endpoint_url)"]
        )
    }

    @Test func unknownTableListsTheKnownTables() {
        #expect(
            problems(in: "[cloud.gcp]\nproject = \"p\"\n").map(\.description)
                == ["rollout.toml: unknown table [cloud.gcp] (known tables in [cloud]: aws, local)"]
        )
        #expect(
            problems(in: "[servers]\n").map(\.message)
                == ["unknown table [servers] (known tables at the top level: server, cloud, fleet)"]
        )
        #expect(
            problems(in: "[server.tls]\n").map(\.message) == ["unknown table [server.tls] (known tables in [server]: http)"]
        )
        #expect(problems(in: "[cloud.aws.s3.extra]\n").map(\.key) == ["cloud.aws.s3.extra"])
    }

    @Test(arguments: [
        ("server.max_request_bytes", "\"1MB\"", "server.max_request_bytes must be an integer (got string \"1MB\")"),
        (
            "server.max_request_bytes", "1.5",
            "server.max_request_bytes must be an integer (got floating-point number 1.5)"
        ),
        ("server.socket", "42", "server.socket must be a string (got integer 42)"),
        ("server.file_roots", "\"/data\"", "server.file_roots must be an array of strings (got string \"/data\")"),
        (
            "server.file_roots", "[\"/data\", 3]",
            "server.file_roots must be an array of strings (got array [ '/data', 3 ])"
        ),
        (
            "server.allowed_uids", "[\"root\"]",
            "server.allowed_uids must be an array of integers (got array [ 'root' ])"
        ),
        (
            "cloud.aws.s3.force_path_style", "\"yes\"",
            "cloud.aws.s3.force_path_style must be a boolean (true or false) (got string \"yes\")"
        ),
        ("cloud.region", "true", "cloud.region must be a string (got boolean true)"),
        (
            "cloud.aws.rollout.engine", "1",
            "cloud.aws.rollout.engine must be one of \"native\", \"codedeploy\" (got integer 1)"
        ),
    ])
    func wrongTypeNamesTheExpectedType(key: String, literal: String, message: String) {
        #expect(problems(in: document(setting: key, to: literal)).map(\.message) == [message])
    }

    @Test func tableInPlaceOfValueAndValueInPlaceOfTable() {
        #expect(problems(in: "server = 3\n").map(\.message) == ["server must be a table (got integer 3)"])
        #expect(problems(in: "[[server]]\nsocket = \"s\"\n").map(\.key) == ["server"])
        #expect(problems(in: "[server.socket]\n").map(\.message) == ["server.socket must be a string (got table)"])
    }

    @Test func badProvider() {
        let found = problems(in: "[cloud]\nprovider = \"gcp\"\n")
        #expect(
            found.map(\.description) == ["rollout.toml: cloud.provider must be one of \"aws\", \"local\" (got \"gcp\")"]
        )
        #expect(found.first?.key == "cloud.provider")
    }

    @Test func awsProviderInABuildWithoutIt() throws {
        let toml = "[cloud]\nprovider = \"aws\"\n"
        #expect(problems(in: toml, awsProviderCompiledIn: true).isEmpty)
        let expected =
            "rollout.toml: cloud.provider = \"aws\" needs the AWS provider, which this build does not include; "
            + "rebuild with: swift build --traits AWS"
        #expect(problems(in: toml, awsProviderCompiledIn: false).map(\.description) == [expected])

        var config = Configuration.default
        config.cloud.provider = .aws
        #expect(
            ConfigurationLoader.validate(config, file: "rollout.toml", awsProviderCompiledIn: false).map(\.description)
                == [expected])
        #expect(ConfigurationLoader.validate(config, file: "rollout.toml", awsProviderCompiledIn: true).isEmpty)
    }

    @Test func bucketAndQueueAreOptionalForAWS() {
        #expect(problems(in: "[cloud]\nprovider = \"aws\"\n[cloud.aws.s3]\nprefix = \"p/\"\n").isEmpty)
    }

    @Test func codedeployEngineNeedsApplicationAndGroup() {
        let when = "is required when cloud.aws.rollout.engine = \"codedeploy\""
        #expect(
            problems(in: "[cloud.aws.rollout]\nengine = \"codedeploy\"\n").map(\.description) == [
                "rollout.toml: cloud.aws.rollout.codedeploy_application \(when)",
                "rollout.toml: cloud.aws.rollout.codedeploy_deployment_group \(when)",
            ]
        )
        #expect(
            problems(in: "[cloud.aws.rollout]\nengine = \"codedeploy\"\ncodedeploy_application = \"app\"\n").map(\.key)
                == ["cloud.aws.rollout.codedeploy_deployment_group"]
        )
        let complete = """
            [cloud.aws.rollout]
            engine = "codedeploy"
            codedeploy_application = "a"
            codedeploy_deployment_group = "g"
            """
        #expect(problems(in: complete).isEmpty)
        #expect(
            problems(in: "[cloud.aws.rollout]\nengine = \"blue-green\"\n").map(\.message) == [
                "cloud.aws.rollout.engine must be one of \"native\", \"codedeploy\" (got \"blue-green\")"
            ])
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        let toml = """
            [server]
            max_request_bytes = 10
            socket_mode = "0999"
            colour = "blue"

            [cloud]
            provider = "gcp"

            [cloud.aws.s3]
            upload_concurrency = "many"
            endpoint_url = "localhost:4566"

            [cloud.aws.rollout]
            engine = "codedeploy"
            codedeploy_application = "app"

            [cloud.local]
            visibility_timeout_secs = 50000

            [extra]
            """
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(toml: toml, file: "rollout.toml")
        }
        let found = try #require(error).problems
        #expect(
            found.map(\.key) == [
                "server.socket_mode",
                "server.colour",
                "cloud.provider",
                "cloud.aws.s3.upload_concurrency",
                "extra",
                "server.max_request_bytes",
                "cloud.aws.s3.endpoint_url",
                "cloud.aws.rollout.codedeploy_deployment_group",
                "cloud.local.visibility_timeout_secs",
            ]
        )
        #expect(error?.description.split(separator: "\n").count == found.count)
        #expect(found.allSatisfy { $0.description.hasPrefix("rollout.toml: ") })
    }

    @Test func syntaxErrorHasALine() throws {
        let found = problems(in: "[server]\nsocket = \"a\"\nmax_request_bytes = \n")
        let problem = try #require(found.first)
        #expect(found.count == 1)
        #expect(problem.key == nil)
        #expect(problem.line == 3)
        #expect(problem.description.hasPrefix("rollout.toml:3: invalid TOML: "))
    }

    @Test func duplicateKeyIsASyntaxError() {
        let found = problems(in: "[server]\nsocket = \"a\"\nsocket = \"b\"\n")
        #expect(found.count == 1)
        #expect(found.first?.line == 3)
    }
}

import RolloutCore
import RolloutTOML

extension Configuration {
    /// Reads every key SPEC §2 defines from a parsed document; absent keys keep their
    /// defaults. Wrong types and unknown keys or tables go to `problems`; ranges are checked
    /// afterwards by ``validationProblems(file:awsProviderCompiledIn:)``.
    init(toml root: TOMLTable, problems: ProblemList) {
        self.init()
        var document = TableReader(root: root, problems: problems)

        var server = document.table("server")
        server.read("socket", into: &self.server.socket)
        server.readOctalMode("socket_mode", into: &self.server.socketMode)
        server.readUIDs("allowed_uids", into: &self.server.allowedUIDs)
        server.read("state_dir", into: &self.server.stateDir)
        server.read("file_roots", into: &self.server.fileRoots)
        server.read("max_request_bytes", into: &self.server.maxRequestBytes)
        server.read("max_inflight_per_connection", into: &self.server.maxInflightPerConnection)
        server.read("max_batch_items", into: &self.server.maxBatchItems)
        server.read("shutdown_grace_secs", into: &self.server.shutdownGraceSecs)
        server.read("idempotency_ttl_secs", into: &self.server.idempotencyTTLSecs)
        server.read("log_level", into: &self.server.logLevel)
        server.read("slow_request_ms", into: &self.server.slowRequestMs)
        self.server.http = Self.readHTTP(server.table("http"), problems: problems)
        server.finish()

        var cloud = document.table("cloud")
        cloud.read("provider", into: &self.cloud.provider)
        cloud.read("region", into: &self.cloud.region)
        self.cloud.aws.read(from: cloud.table("aws"))
        var local = cloud.table("local")
        local.read("root", into: &self.cloud.local.root)
        local.read("secrets_allowlist", into: &self.cloud.local.secretsAllowlist)
        local.read("visibility_timeout_secs", into: &self.cloud.local.visibilityTimeoutSecs)
        local.finish()
        cloud.finish()

        var fleet = document.table("fleet")
        fleet.read("backend", into: &self.fleet.backend)
        fleet.read("table", into: &self.fleet.table)
        fleet.read("lease_secs", into: &self.fleet.leaseSecs)
        fleet.read("node_id", into: &self.fleet.nodeID)
        fleet.read("endpoint_url", into: &self.fleet.endpointURL)
        fleet.finish()

        document.finish()
    }
}

extension Configuration {
    /// `[server.http]`: absent leaves the listener off; present needs a valid `listen`.
    fileprivate static func readHTTP(_ table: TableReader, problems: ProblemList) -> HTTP? {
        var http = table
        defer { http.finish() }
        guard http.isPresent else { return nil }
        var listen: String?
        http.read("listen", into: &listen)
        let key = http.dotted("listen")
        guard let listen else {
            if !problems.mentions(key) {
                problems.add(key, "\(key) is required in [\(http.path)] (a host:port such as \"127.0.0.1:9464\"); leave the table out to open no TCP port")
            }
            return nil
        }
        switch ListenAddress.parse(listen) {
        case .success(let address):
            return HTTP(listen: address)
        case .failure(let error):
            problems.add(key, "\(key) = \"\(listen)\" is not a valid listen address: \(error)")
            return nil
        }
    }
}

extension Configuration.AWS {
    fileprivate mutating func read(from table: TableReader) {
        var aws = table
        aws.read("profile", into: &profile)
        aws.read("max_attempts", into: &maxAttempts)

        var s3 = aws.table("s3")
        s3.read("bucket", into: &self.s3.bucket)
        s3.read("prefix", into: &self.s3.prefix)
        s3.read("multipart_chunk_bytes", into: &self.s3.multipartChunkBytes)
        s3.read("max_snapshot_part_bytes", into: &self.s3.maxSnapshotPartBytes)
        s3.read("upload_concurrency", into: &self.s3.uploadConcurrency)
        s3.read("endpoint_url", into: &self.s3.endpointURL)
        s3.read("force_path_style", into: &self.s3.forcePathStyle)
        s3.finish()

        var sqs = aws.table("sqs")
        sqs.read("queue_url", into: &self.sqs.queueURL)
        sqs.read("visibility_timeout_secs", into: &self.sqs.visibilityTimeoutSecs)
        sqs.read("endpoint_url", into: &self.sqs.endpointURL)
        sqs.finish()

        var secrets = aws.table("secrets")
        secrets.read("allowlist", into: &self.secrets.allowlist)
        secrets.read("cache_ttl_secs", into: &self.secrets.cacheTTLSecs)
        secrets.read("endpoint_url", into: &self.secrets.endpointURL)
        secrets.finish()

        var imds = aws.table("imds")
        imds.read("token_ttl_secs", into: &self.imds.tokenTTLSecs)
        imds.finish()

        var rollout = aws.table("rollout")
        rollout.read("engine", into: &self.rollout.engine)
        rollout.read("alarm_poll_secs", into: &self.rollout.alarmPollSecs)
        rollout.read("codedeploy_application", into: &self.rollout.codedeployApplication)
        rollout.read("codedeploy_deployment_group", into: &self.rollout.codedeployDeploymentGroup)
        rollout.finish()

        for (section, endpoint) in Self.endpointOnlySections {
            var service = aws.table(section)
            service.read("endpoint_url", into: &self[keyPath: endpoint].endpointURL)
            service.finish()
        }
        aws.finish()
    }

    /// The `[cloud.aws.<section>]` tables whose only key is `endpoint_url`.
    static var endpointOnlySections: [(String, WritableKeyPath<Configuration.AWS, ServiceEndpoint>)] {
        [
            ("lambda", \.lambda), ("cloudwatch", \.cloudwatch), ("sns", \.sns), ("codedeploy", \.codedeploy),
            ("sts", \.sts),
        ]
    }
}

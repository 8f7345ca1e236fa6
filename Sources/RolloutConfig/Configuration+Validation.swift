import RolloutCore
import RolloutSystem

extension Configuration {
    /// Every rule of SPEC §2 that a well-typed configuration can still break: ranges, path
    /// lengths, URLs, keys that require other keys.
    /// See ``ConfigurationLoader/validate(_:file:awsProviderCompiledIn:)``.
    func validationProblems(file: String, awsProviderCompiledIn: Bool) -> [ConfigurationError.Problem] {
        let problems = ProblemList(file: file)
        server.validate(into: problems)
        fileRootOverlaps(into: problems)

        if cloud.provider == .aws && !awsProviderCompiledIn {
            problems.add(
                "cloud.provider",
                "cloud.provider = \"aws\" needs the AWS provider, which this build does not include; "
                    + "rebuild with: swift build --traits AWS"
            )
        }
        problems.notEmptyIfSet("cloud.region", cloud.region)
        cloud.aws.validate(into: problems)

        let local = cloud.local
        problems.notEmpty("cloud.local.root", local.root)
        problems.noEmptyElements("cloud.local.secrets_allowlist", local.secretsAllowlist)
        problems.check("cloud.local.visibility_timeout_secs", local.visibilityTimeoutSecs, Limits.visibilityTimeoutSecs)
        fleet.validate(provider: cloud.provider, into: problems)
        return problems.problems
    }
}

extension Configuration {
    /// A `path` param may read or write anything under a file root, so no root may contain, or
    /// lie inside, the state database's directory or (with the local provider, which keeps
    /// `secrets.toml` and the queue there) `cloud.local.root`. Relative paths are resolved
    /// against the working directory, as the daemon resolves them.
    fileprivate func fileRootOverlaps(into problems: ProblemList) {
        var guarded = [("server.state_dir", server.stateDir, "the state database")]
        if cloud.provider == .local {
            guarded.append(("cloud.local.root", cloud.local.root, "the local provider's objects, queue and secrets"))
        }
        let overlap = PathOverlap(currentDirectory: Directories.current())
        for (index, root) in server.fileRoots.enumerated() where !root.isEmpty {
            for (key, directory, holds) in guarded where !directory.isEmpty {
                guard let (rootPath, directoryPath) = overlap.overlap(root, directory) else { continue }
                var message = "server.file_roots[\(index)] = \"\(root)\" overlaps \(key) = \"\(directory)\""
                if rootPath != root || directoryPath != directory {
                    message += " (\(rootPath) and \(directoryPath))"
                }
                message += "; a file root may not contain or lie inside \(key), or `path` params could reach \(holds)"
                problems.add("server.file_roots", message)
            }
        }
    }
}

extension Configuration.Server {
    fileprivate func validate(into problems: ProblemList) {
        let socketBytes = socket.utf8.count
        if socket.isEmpty {
            problems.add("server.socket", "server.socket must not be empty")
        } else if socketBytes >= Limits.socketPathBytes {
            problems.add(
                "server.socket",
                "server.socket is \(socketBytes) bytes long; a Unix socket path must be shorter than "
                    + "\(Limits.socketPathBytes) bytes"
            )
        }
        if !Limits.socketMode.contains(socketMode) {
            problems.add(
                "server.socket_mode", Limits.socketModeOutOfRange("server.socket_mode", Limits.octal(socketMode)))
        }
        for (index, uid) in allowedUIDs.enumerated() where !Limits.uid.contains(Int(uid)) {
            problems.outOfRange("server.allowed_uids", "server.allowed_uids[\(index)]", Int(uid), Limits.uid)
        }
        problems.notEmpty("server.state_dir", stateDir)
        problems.noEmptyElements("server.file_roots", fileRoots)
        problems.check("server.max_request_bytes", maxRequestBytes, Limits.maxRequestBytes, unit: .bytes)
        problems.check("server.max_inflight_per_connection", maxInflightPerConnection, Limits.maxInflightPerConnection)
        problems.check("server.max_batch_items", maxBatchItems, Limits.maxBatchItems)
        problems.check("server.shutdown_grace_secs", shutdownGraceSecs, Limits.shutdownGraceSecs)
        problems.check("server.idempotency_ttl_secs", idempotencyTTLSecs, Limits.idempotencyTTLSecs, unit: .seconds)
        problems.check("server.slow_request_ms", slowRequestMs, Limits.slowRequestMs)
    }
}

extension Configuration.AWS {
    fileprivate func validate(into problems: ProblemList) {
        problems.notEmptyIfSet("cloud.aws.profile", profile)
        problems.check("cloud.aws.max_attempts", maxAttempts, Limits.maxAttempts)

        problems.notEmptyIfSet("cloud.aws.s3.bucket", s3.bucket)
        problems.check(
            "cloud.aws.s3.multipart_chunk_bytes", s3.multipartChunkBytes, Limits.multipartChunkBytes, unit: .bytes)
        problems.check(
            "cloud.aws.s3.max_snapshot_part_bytes",
            s3.maxSnapshotPartBytes,
            Limits.maxSnapshotPartBytes,
            unit: .bytes
        )
        let (largestUpload, overflow) = s3.multipartChunkBytes.multipliedReportingOverflow(by: Limits.maxPartsPerUpload)
        if !overflow && s3.maxSnapshotPartBytes > largestUpload {
            problems.add(
                "cloud.aws.s3.max_snapshot_part_bytes",
                "cloud.aws.s3.max_snapshot_part_bytes = \(s3.maxSnapshotPartBytes) is more than "
                    + "cloud.aws.s3.multipart_chunk_bytes × \(Limits.maxPartsPerUpload) = \(largestUpload) "
                    + "(S3 allows at most \(Limits.maxPartsPerUpload) parts per upload)"
            )
        }
        problems.check("cloud.aws.s3.upload_concurrency", s3.uploadConcurrency, Limits.uploadConcurrency)
        problems.httpURL("cloud.aws.s3.endpoint_url", s3.endpointURL)

        problems.httpURL("cloud.aws.sqs.queue_url", sqs.queueURL)
        problems.check("cloud.aws.sqs.visibility_timeout_secs", sqs.visibilityTimeoutSecs, Limits.visibilityTimeoutSecs)
        problems.httpURL("cloud.aws.sqs.endpoint_url", sqs.endpointURL)

        problems.noEmptyElements("cloud.aws.secrets.allowlist", secrets.allowlist)
        problems.check("cloud.aws.secrets.cache_ttl_secs", secrets.cacheTTLSecs, Limits.cacheTTLSecs, unit: .seconds)
        problems.httpURL("cloud.aws.secrets.endpoint_url", secrets.endpointURL)

        problems.check("cloud.aws.imds.token_ttl_secs", imds.tokenTTLSecs, Limits.tokenTTLSecs)

        problems.check("cloud.aws.rollout.alarm_poll_secs", rollout.alarmPollSecs, Limits.alarmPollSecs)
        if rollout.engine == .codedeploy {
            let required = [
                ("cloud.aws.rollout.codedeploy_application", rollout.codedeployApplication),
                ("cloud.aws.rollout.codedeploy_deployment_group", rollout.codedeployDeploymentGroup),
            ]
            for (key, value) in required where value == nil {
                problems.add(key, "\(key) is required when cloud.aws.rollout.engine = \"codedeploy\"")
            }
        }
        problems.notEmptyIfSet("cloud.aws.rollout.codedeploy_application", rollout.codedeployApplication)
        problems.notEmptyIfSet("cloud.aws.rollout.codedeploy_deployment_group", rollout.codedeployDeploymentGroup)

        for (section, endpoint) in Self.endpointOnlySections {
            problems.httpURL("cloud.aws.\(section).endpoint_url", self[keyPath: endpoint].endpointURL)
        }
    }
}

extension Configuration.Fleet {
    /// SPEC §11: `table` is required for `dynamodb` and must be a DynamoDB table name;
    /// `lease_secs` in 5...300; fleet state lives in DynamoDB, so it needs the `aws` provider.
    fileprivate func validate(provider: Configuration.Cloud.Provider, into problems: ProblemList) {
        problems.check("fleet.lease_secs", leaseSecs, Limits.leaseSecs)
        problems.notEmptyIfSet("fleet.node_id", nodeID)
        problems.httpURL("fleet.endpoint_url", endpointURL)
        if let table {
            let allowed = table.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0))
            }
            if !allowed || !Limits.tableNameLength.contains(table.count) {
                problems.add(
                    "fleet.table",
                    "fleet.table = \"\(table)\" is not a DynamoDB table name (3 to 255 characters: letters, digits, _ . -)"
                )
            }
        }
        guard backend == .dynamodb else { return }
        if table == nil {
            problems.add("fleet.table", "fleet.table is required when fleet.backend = \"dynamodb\" (the DynamoDB table the fleet shares)")
        }
        if provider != .aws {
            problems.add(
                "fleet.backend",
                "fleet.backend = \"dynamodb\" needs cloud.provider = \"aws\" (fleet mode drives Lambda rollouts and reaches DynamoDB with the AWS credentials)"
            )
        }
    }
}

extension ProblemList {
    fileprivate func check(_ key: String, _ value: Int, _ range: ClosedRange<Int>, unit: Unit = .none) {
        if !range.contains(value) { outOfRange(key, key, value, range, unit: unit) }
    }

    fileprivate func notEmpty(_ key: String, _ value: String) {
        if value.isEmpty { add(key, "\(key) must not be empty") }
    }

    /// Optional keys have no "unset" spelling in TOML; an empty string is a mistake.
    fileprivate func notEmptyIfSet(_ key: String, _ value: String?) {
        if value?.isEmpty == true { add(key, "\(key) must not be empty (leave the key out to leave it unset)") }
    }

    fileprivate func noEmptyElements(_ key: String, _ values: [String]) {
        for (index, value) in values.enumerated() where value.isEmpty {
            add(key, "\(key)[\(index)] must not be empty")
        }
    }

    fileprivate func httpURL(_ key: String, _ value: String?) {
        guard let value else { return }
        guard HTTPURLSyntax.isHTTPURLWithHost(value) else {
            add(key, "\(key) must be an http:// or https:// URL with a host (got \"\(value)\")")
            return
        }
    }
}

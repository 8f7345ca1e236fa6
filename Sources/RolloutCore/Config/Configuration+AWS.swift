extension Configuration {
    /// `[cloud.aws]`: settings of the `aws` provider.
    ///
    /// `s3.bucket` and `sqs.queueURL` are optional even with `provider = "aws"`: a capability
    /// whose resource is not configured reports itself as not configured when called, so a
    /// deployment can use, say, only secrets and rollouts without inventing a bucket.
    public struct AWS: Sendable, Hashable {
        /// `profile`: the shared-config profile to use. Default: unset, which means
        /// `$AWS_PROFILE`, else `"default"`.
        public var profile: String?
        /// `max_attempts`: attempts per AWS call, first try included (standard retry mode).
        /// Range 1...10. Default `3`.
        public var maxAttempts = 3
        /// `[cloud.aws.s3]`: the object store.
        public var s3 = S3()
        /// `[cloud.aws.sqs]`: the queue.
        public var sqs = SQS()
        /// `[cloud.aws.secrets]`: Secrets Manager.
        public var secrets = Secrets()
        /// `[cloud.aws.imds]`: the EC2 instance metadata service.
        public var imds = IMDS()
        /// `[cloud.aws.rollout]`: how rollouts shift traffic.
        public var rollout = Rollout()
        /// `[cloud.aws.lambda]`: Lambda endpoint override.
        public var lambda = ServiceEndpoint()
        /// `[cloud.aws.cloudwatch]`: CloudWatch endpoint override.
        public var cloudwatch = ServiceEndpoint()
        /// `[cloud.aws.sns]`: SNS endpoint override.
        public var sns = ServiceEndpoint()
        /// `[cloud.aws.codedeploy]`: CodeDeploy endpoint override.
        public var codedeploy = ServiceEndpoint()
        /// `[cloud.aws.sts]`: STS endpoint override.
        public var sts = ServiceEndpoint()

        /// A `[cloud.aws]` section with every key at its default.
        public init() {}
    }
}

extension Configuration.AWS {
    /// `[cloud.aws.s3]`: the bucket behind the object store and how uploads are split.
    public struct S3: Sendable, Hashable {
        /// `bucket`: the bucket holding every object. Default: unset (the object store
        /// reports itself as not configured).
        public var bucket: String?
        /// `prefix`: key prefix under which every object lives. Default: unset (no prefix).
        public var prefix: String?
        /// `multipart_chunk_bytes`: size of each multipart upload part.
        /// Range 5242880...5368709120 (5 MiB, the S3 minimum part, to 5 GiB).
        /// Default `16777216` (16 MiB).
        public var multipartChunkBytes = 16_777_216
        /// `max_snapshot_part_bytes`: largest object accepted. Range 1...10737418240 (10 GiB),
        /// and at most `multipartChunkBytes × 10000` (S3's part-count limit).
        /// Default `5368709120` (5 GiB).
        public var maxSnapshotPartBytes = 5_368_709_120
        /// `upload_concurrency`: parts of one upload sent at once. Range 1...64. Default `4`.
        public var uploadConcurrency = 4
        /// `endpoint_url`: S3 endpoint, an http(s) URL; highest precedence in endpoint
        /// resolution (SPEC §2.1). Default: unset.
        public var endpointURL: String?
        /// `force_path_style`: address buckets as `endpoint/bucket/key` rather than
        /// `bucket.endpoint/key`; needed by most emulators. Default `false`.
        public var forcePathStyle = false

        /// A `[cloud.aws.s3]` section with every key at its default.
        public init() {}
    }

    /// `[cloud.aws.sqs]`: the queue.
    public struct SQS: Sendable, Hashable {
        /// `queue_url`: URL of the queue. Default: unset (the queue reports itself as not
        /// configured).
        public var queueURL: String?
        /// `visibility_timeout_secs`: how long a received message stays hidden.
        /// Range 0...43200. Default `300`.
        public var visibilityTimeoutSecs = 300
        /// `endpoint_url`: SQS endpoint, an http(s) URL. Default: unset.
        public var endpointURL: String?

        /// A `[cloud.aws.sqs]` section with every key at its default.
        public init() {}
    }

    /// `[cloud.aws.secrets]`: Secrets Manager.
    public struct Secrets: Sendable, Hashable {
        /// `allowlist`: the only secret names the daemon will fetch. Default `[]`.
        public var allowlist: [String] = []
        /// `cache_ttl_secs`: how long a fetched secret is cached; `0` disables caching.
        /// Range 0...86400. Default `300`.
        public var cacheTTLSecs = 300
        /// `endpoint_url`: Secrets Manager endpoint, an http(s) URL. Default: unset.
        public var endpointURL: String?

        /// A `[cloud.aws.secrets]` section with every key at its default.
        public init() {}
    }

    /// `[cloud.aws.imds]`: the EC2 instance metadata service (IMDSv2).
    public struct IMDS: Sendable, Hashable {
        /// `token_ttl_secs`: lifetime requested for IMDSv2 session tokens.
        /// Range 1...21600. Default `21600` (six hours, the IMDS maximum).
        public var tokenTTLSecs = 21_600

        /// A `[cloud.aws.imds]` section with every key at its default.
        public init() {}
    }

    /// `[cloud.aws.rollout]`: how rollouts shift traffic between versions.
    public struct Rollout: Sendable, Hashable {
        /// The engines that can run a rollout.
        public enum Engine: String, Sendable, CaseIterable {
            /// The daemon shifts Lambda alias weights itself and watches the alarms.
            case native
            /// The daemon hands the rollout to CodeDeploy.
            case codedeploy
        }

        /// `engine`: `"native"` or `"codedeploy"`. Default `"native"`.
        public var engine = Engine.native
        /// `alarm_poll_secs`: how often alarms are checked during a rollout.
        /// Range 1...3600. Default `10`.
        public var alarmPollSecs = 10
        /// `codedeploy_application`: CodeDeploy application name; required when
        /// `engine` is `"codedeploy"`. Default: unset.
        public var codedeployApplication: String?
        /// `codedeploy_deployment_group`: CodeDeploy deployment group; required when
        /// `engine` is `"codedeploy"`. Default: unset.
        public var codedeployDeploymentGroup: String?

        /// A `[cloud.aws.rollout]` section with every key at its default.
        public init() {}
    }

    /// `[cloud.aws.<service>]` for a service whose only setting is its endpoint
    /// (Lambda, CloudWatch, SNS, CodeDeploy, STS).
    public struct ServiceEndpoint: Sendable, Hashable {
        /// `endpoint_url`: the service's endpoint, an http(s) URL; highest precedence in
        /// endpoint resolution (SPEC §2.1). Default: unset.
        public var endpointURL: String?

        /// A section with no endpoint override.
        public init() {}
    }
}

/// The names of the daemon's metrics (SPEC §6.1), in one place so that every module emits the
/// same ones and the Prometheus exposition stays predictable. Labels are listed with each name;
/// every label takes values from a bounded set (method names from the registry, error reasons,
/// AWS operations, statuses), except `deployment`, whose series is removed when its deployment
/// ends.
public enum MetricName {
    /// Counter: JSON-RPC requests answered, by `method` (unknown methods as `other`) and
    /// `outcome` (`ok` or the error reason).
    public static let rpcRequests = "rolloutd_rpc_requests_total"
    /// Histogram (seconds): request duration, by `method`.
    public static let rpcRequestDuration = "rolloutd_rpc_request_duration_seconds"
    /// Gauge: requests running now, over all connections.
    public static let rpcInflight = "rolloutd_rpc_inflight_requests"
    /// Gauge: open client connections.
    public static let rpcConnections = "rolloutd_rpc_open_connections"
    /// Counter: requests answered from an idempotency record, by `method`.
    public static let idempotencyReplays = "rolloutd_idempotency_replays_total"
    /// Counter: AWS calls (after retries), by `service`, `operation` and `status` (the final HTTP
    /// status, or `transport`, `cancelled`, `error` when no response decided it).
    public static let awsCalls = "rolloutd_aws_calls_total"
    /// Counter: AWS call attempts that were retried, by `service` and `operation`.
    public static let awsRetries = "rolloutd_aws_retries_total"
    /// Counter: object bytes stored by `object.put`.
    public static let objectBytesUploaded = "rolloutd_object_uploaded_bytes_total"
    /// Counter: object bytes returned by `object.get`.
    public static let objectBytesDownloaded = "rolloutd_object_downloaded_bytes_total"
    /// Counter: `secret.get` answered from the cache.
    public static let secretCacheHits = "rolloutd_secret_cache_hits_total"
    /// Counter: `secret.get` that fetched the value from the provider.
    public static let secretCacheMisses = "rolloutd_secret_cache_misses_total"
    /// Counter: deployments that entered a status, by `status` (`InProgress`, `Succeeded`, ...).
    public static let rollouts = "rolloutd_rollouts_total"
    /// Gauge: current traffic weight (0...1) on the new version, by `deployment`; present only
    /// while the deployment runs.
    public static let rolloutWeight = "rolloutd_rollout_weight"
    /// Gauge: deployments whose fleet lease this daemon holds (fleet mode only).
    public static let fleetOwned = "rolloutd_fleet_owned_deployments"
    /// Counter: deployments this daemon adopted from a node that stopped renewing (fleet mode only).
    public static let fleetAdoptions = "rolloutd_fleet_adoptions_total"
    /// Counter: leases this daemon lost or could not confirm in time, so it stopped driving the
    /// deployment (fleet mode only).
    public static let fleetLeasesLost = "rolloutd_fleet_leases_lost_total"
}

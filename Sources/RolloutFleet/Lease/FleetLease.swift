/// A deployment's lease as stored in the fleet table: who drives the deployment, under which
/// epoch, and the record version number (RVN) that changes with every renewal.
///
/// Only ``epoch`` and ``rvn`` take part in decisions. ``expiresAtMs`` is the owner's wall
/// clock plus the lease, written for people (`rolloutctl`, `sys.health`); no node compares
/// it with its own clock.
public struct FleetLease: Sendable, Hashable {
    /// The deployment.
    public var deploymentId: String
    /// The Lambda function whose alias the deployment shifts.
    public var functionName: String
    /// The alias.
    public var alias: String
    /// The node that holds the lease.
    public var owner: String
    /// Incremented by every adoption; a write fenced on an older epoch fails.
    public var epoch: Int64
    /// Record version number: a fresh random token on every write of the lease.
    public var rvn: String
    /// How long the lease lasts without renewal, as its owner configured it.
    public var duration: Duration
    /// For display only: the owner's wall clock at the last renewal plus the lease, in
    /// milliseconds since the Unix epoch.
    public var expiresAtMs: Int64

    /// A lease from its parts.
    public init(
        deploymentId: String, functionName: String, alias: String, owner: String, epoch: Int64, rvn: String,
        duration: Duration, expiresAtMs: Int64
    ) {
        self.deploymentId = deploymentId
        self.functionName = functionName
        self.alias = alias
        self.owner = owner
        self.epoch = epoch
        self.rvn = rvn
        self.duration = duration
        self.expiresAtMs = expiresAtMs
    }
}

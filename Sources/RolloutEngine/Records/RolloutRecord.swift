public import RolloutCore

/// One deployment as the state database keeps it: what was asked, and where it is.
public struct RolloutRecord: Sendable, Hashable, Codable {
    /// `d-` + 12 characters (native) or CodeDeploy's id.
    public var deploymentId: String
    /// The engine running it.
    public var engine: RolloutEngineKind
    /// The `rollout.start` params (after `publish` resolved the target).
    public var request: RolloutRequest
    /// The version the alias was on.
    public var fromVersion: String
    /// The version the alias moves to.
    public var toVersion: String
    /// When the record was made (seconds since the epoch).
    public var createdAt: Double
    /// The last known status (for queries; the snapshot is authoritative for native deployments).
    public var status: DeploymentStatus
    /// The native engine's state machine, persisted before every effect.
    public var snapshot: RolloutStateMachine.Snapshot?

    /// Creates a record.
    public init(
        deploymentId: String, engine: RolloutEngineKind, request: RolloutRequest, fromVersion: String, toVersion: String,
        createdAt: Double, status: DeploymentStatus, snapshot: RolloutStateMachine.Snapshot? = nil
    ) {
        self.deploymentId = deploymentId
        self.engine = engine
        self.request = request
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.createdAt = createdAt
        self.status = status
        self.snapshot = snapshot
    }

    /// Function name or ARN.
    public var function: String { request.function }
    /// The alias.
    public var alias: String { request.alias }
}

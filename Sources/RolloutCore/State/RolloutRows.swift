/// One deployment as the state database stores it: the columns queries filter on, and the
/// whole record as JSON text (the rollout engine owns its shape).
public struct RolloutRow: Sendable, Hashable {
    /// The deployment id.
    public var deploymentId: String
    /// The engine running it.
    public var engine: RolloutEngineKind
    /// Function name or ARN.
    public var function: String
    /// The alias.
    public var alias: String
    /// The last known status.
    public var status: DeploymentStatus
    /// When the record was made (seconds since the epoch).
    public var createdAt: Double
    /// The record, as JSON text.
    public var json: String

    /// Creates a row.
    public init(
        deploymentId: String, engine: RolloutEngineKind, function: String, alias: String, status: DeploymentStatus,
        createdAt: Double, json: String
    ) {
        self.deploymentId = deploymentId
        self.engine = engine
        self.function = function
        self.alias = alias
        self.status = status
        self.createdAt = createdAt
        self.json = json
    }
}

/// Deployments and their sent notifications in the state database. The rollout engine's
/// record store (`RolloutRecordStore`) encodes its records into these rows. Writes are durable
/// when the call returns.
public protocol RolloutRowStore: Sendable {
    /// Inserts the row, or updates its status and JSON.
    func save(_ row: RolloutRow) async throws(RolloutError)
    /// Inserts the row of a new deployment unless a deployment whose status is not terminal is
    /// on its function+alias: then inserts nothing and returns that deployment's id. The check
    /// and the insert are one transaction.
    func create(_ row: RolloutRow) async throws(RolloutError) -> String?
    /// The JSON of a deployment, or nil.
    func load(_ deploymentId: String) async throws(RolloutError) -> String?
    /// The JSON of the deployments matching every given filter, newest first, at most `limit`.
    func list(function: String?, alias: String?, status: DeploymentStatus?, limit: Int) async throws(RolloutError) -> [String]
    /// The JSON of the deployments whose status is not terminal, oldest first.
    func active() async throws(RolloutError) -> [String]
    /// Notifications already published for the deployment.
    func sentNotifications(_ deploymentId: String) async throws(RolloutError) -> Set<NotificationEvent>
    /// Remembers that `event` was published for the deployment (with SNS's message id).
    func markSent(_ deploymentId: String, event: NotificationEvent, messageId: String, at: Double) async throws(RolloutError)
}

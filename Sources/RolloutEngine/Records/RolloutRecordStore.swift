public import RolloutCore

/// Where deployments, their notification outbox and the one-active-deployment-per-alias claim
/// are kept. Writes are durable when the call returns: the engine records every step before it
/// is applied.
///
/// Today the daemon's SQLite state database keeps them (``RolloutRecords`` over RolloutStore's
/// rows), for the deployments this daemon drives. The requirements are shaped so that a fleet
/// backend on DynamoDB (SPEC §11, where every daemon of a fleet sees every deployment) can
/// implement them with one conditional write each:
///
/// - ``create(_:)`` is the per-alias claim: a conditional put of the alias item naming the new
///   deployment (the claim holds while that deployment is not terminal), answering the holder's
///   id on conflict, which `rollout.start` reports as `data.activeDeploymentId`.
/// - ``save(_:)`` writes one deployment's item; a fleet backend conditions it on the lease epoch
///   the writer holds (fencing), and releases the alias claim when the status is terminal.
/// - ``load(_:)``, ``list(function:alias:status:limit:)`` and ``active()`` read items; ``active()``
///   is where the adoption of deployments whose lease expired starts.
/// - The outbox: the snapshot decides a notification (written by ``save(_:)``), the notifier
///   takes ``claimNotification(_:event:)`` before publishing and ``markSent(_:event:messageId:at:)``
///   after; ``unsentNotifications()`` is what a crash (or a lost owner) left unsent.
/// - ``forward(_:to:)`` stores a command for the daemon that drives the deployment when that is
///   another one; its owner takes it within one lease renewal and applies it as its own.
public protocol RolloutRecordStore: Sendable {
    /// Saves a new deployment unless another deployment that is not terminal is on its
    /// function+alias: then nothing is saved and the other deployment's id is returned.
    func create(_ record: RolloutRecord) async throws(RolloutError) -> String?
    /// Inserts or replaces the record.
    func save(_ record: RolloutRecord) async throws(RolloutError)
    /// The record, or nil.
    func load(_ deploymentId: String) async throws(RolloutError) -> RolloutRecord?
    /// Records matching every given filter, newest first, at most `limit`.
    func list(function: String?, alias: String?, status: DeploymentStatus?, limit: Int) async throws(RolloutError) -> [RolloutRecord]
    /// Records whose status is not terminal.
    func active() async throws(RolloutError) -> [RolloutRecord]
    /// Notifications already published for the deployment.
    func sentNotifications(_ deploymentId: String) async throws(RolloutError) -> Set<NotificationEvent>
    /// Claims the right to publish `event` for the deployment: false when it was sent already
    /// (or another publisher holds the claim), and the caller publishes nothing.
    func claimNotification(_ deploymentId: String, event: NotificationEvent) async throws(RolloutError) -> Bool
    /// Remembers that `event` was published for the deployment (with SNS's message id).
    func markSent(_ deploymentId: String, event: NotificationEvent, messageId: String, at: Double) async throws(RolloutError)
    /// Stores `command` for the daemon that drives the deployment when that is another daemon,
    /// and returns true (a fleet backend once that daemon applied it, or after a bounded wait); false when this daemon drives it (always, for a store that no other
    /// daemon shares) and applies the command itself.
    func forward(_ command: DeploymentCommand, to deploymentId: String) async throws(RolloutError) -> Bool
    /// Called right before every alias change and every hook invocation of the deployment: true
    /// while this daemon may act on it. A fleet backend writes its lease fence (conditional on the epoch) and checks
    /// that the lease cannot have passed to another daemon; false stops the run loop at once,
    /// changing nothing more. ``save(_:)`` of such a store throws PreconditionFailed when the
    /// writer lost the deployment, which stops the run loop as well.
    func fence(_ deploymentId: String) async -> Bool
    /// Whether this daemon drives the deployment (resumes it at startup): every unfinished one
    /// for a store no other daemon shares, those whose lease it holds for a fleet backend.
    func drives(_ deploymentId: String) async -> Bool
    /// The deployment's run loop recorded its terminal state and published its notifications
    /// (called before waiters see it): a fleet backend frees the alias now, which it could not
    /// do with the terminal record, as the notifications are claimed under the lease.
    func finished(_ deploymentId: String) async
    /// The node driving each active deployment, by deployment id, for stores shared by several
    /// daemons (`rollout.get`/`list` show it as `owner`); empty for a store no other daemon shares.
    func owners() async -> [String: String]
    /// How often the run loop of a deployment this daemon drives checks in while it waits for
    /// its next step; nil: it does not (a store no other daemon shares has no lease to give up).
    var checkInInterval: Duration? { get }
    /// The run loop of the deployment is alive: it took a step, is between two awaits of one,
    /// or answered while waiting (every ``checkInInterval``). A fleet backend stops renewing
    /// the lease of a deployment whose run loop went silent for longer than its longest
    /// legitimate await (stuck), so that another daemon adopts it.
    func checkIn(_ deploymentId: String) async
    /// The outbox: notifications the snapshot decided but the store has not marked sent, of the
    /// deployments this daemon drives (what ``NativeRolloutEngine/recover()`` publishes).
    func unsentNotifications() async throws(RolloutError) -> [(record: RolloutRecord, events: [NotificationEvent])]
}

extension RolloutRecordStore {
    /// A store no other daemon shares: this daemon may always change its deployments' aliases.
    public func fence(_ deploymentId: String) async -> Bool { true }
    /// A store no other daemon shares: this daemon drives every deployment in it.
    public func drives(_ deploymentId: String) async -> Bool { true }
    /// A store no other daemon shares: the terminal record frees the alias.
    public func finished(_ deploymentId: String) async {}
    /// A store no other daemon shares: no owners to show.
    public func owners() async -> [String: String] { [:] }
    /// A store no other daemon shares: no lease depends on the run loop's liveness.
    public var checkInInterval: Duration? { nil }
    /// A store no other daemon shares: nothing to record.
    public func checkIn(_ deploymentId: String) async {}
}

extension RolloutRecordStore {
    /// The outbox: notifications the snapshot decided but the store has not marked sent, among the
    /// 500 newest deployments, in the order events are declared.
    public func unsentNotifications() async throws(RolloutError) -> [(record: RolloutRecord, events: [NotificationEvent])] {
        var result: [(record: RolloutRecord, events: [NotificationEvent])] = []
        for record in try await list(function: nil, alias: nil, status: nil, limit: 500) {
            guard let decided = record.snapshot?.notified, !decided.isEmpty else { continue }
            let sent = try await sentNotifications(record.deploymentId)
            let events = NotificationEvent.allCases.filter { decided.contains($0) && !sent.contains($0) }
            if !events.isEmpty { result.append((record, events)) }
        }
        return result
    }
}

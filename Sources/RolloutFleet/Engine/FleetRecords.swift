public import RolloutCore
public import RolloutEngine

/// The ``RolloutRecordStore`` of fleet mode (SPEC §11): native deployments live in the fleet
/// table, where every daemon reads them; this daemon drives those whose lease it holds.
///
/// - ``create(_:)`` is ``FleetStore/start(_:)``: the per-alias claim (keyed by the function's
///   name, whether the request named it or its ARN) and the lease, epoch 1, in one transaction.
/// - ``save(_:)`` is fenced on the lease epoch and consumes the commands applied since the
///   last save; a lost lease throws PreconditionFailed, which stops the run loop.
/// - ``fence(_:)`` runs right before every alias change: a renewal conditional on the epoch,
///   then ``LeaseHolder/canAct(at:)`` on the local monotonic clock.
/// - ``finished(_:)`` frees the alias once the terminal record and its notifications are out.
/// - The lease work that is not tied to a step (renewals, commands, adoption) is driven by
///   ``FleetDriver`` through ``renewDue()``, ``pendingCommands()`` and ``scanForExpired()``.
///
/// CodeDeploy deployments live in the table too (SPEC §11: any daemon can get, wait for and stop
/// them), claimed on their alias like native ones but without a lease: CodeDeploy keeps their
/// state and shifts the alias, so nobody drives or adopts them. Any daemon that reads a new
/// status from CodeDeploy saves it (``FleetStore/saveUnleased(_:functionName:alias:record:status:)``);
/// the terminal one frees the alias exactly once (``FleetStore/finishUnleased(_:functionName:alias:record:status:)``,
/// conditional on the record not being finished). `local` holds only records written before
/// fleet mode was turned on, which are still read.
public actor FleetRecords: RolloutRecordStore {
    /// The table.
    public nonisolated let fleet: FleetStore
    private let local: any RolloutRecordStore
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    private var holders: [String: LeaseHolder] = [:]
    /// The last record this node wrote for each deployment it holds.
    private var written: [String: RolloutRecord] = [:]
    /// Commands applied to a held deployment, consumed by its next save.
    private var consuming: [String: [String]] = [:]
    private var observer: LeaseObserver
    /// The last error of a lease write or scan, for `sys.health`; cleared by the next success.
    public private(set) var lastError: String?
    /// Deployments this node gave up because their run loop stopped checking in, with when: it
    /// leaves them to other daemons for two leases before it may adopt them back itself (see
    /// ``scanForExpired()``).
    private var stalledHere: [String: Duration] = [:]
    /// Deployments adopted by this node since it started.
    public private(set) var adoptedCount = 0
    /// How long a deployment's run loop may go without checking in before its lease is given
    /// up (``LeaseHolder/stallLimit``): one lease plus `longestAwait`.
    public nonisolated let stallLimit: Duration

    /// Records in `fleet`; those of `local` (written before fleet mode) are still read.
    ///
    /// - Parameter longestAwait: the longest a run loop may legitimately spend in one await
    ///   between two check-ins: one AWS call with all its retries (the daemon derives it from
    ///   `max_attempts` and the per-attempt limits).
    public init(fleet: FleetStore, local: any RolloutRecordStore, longestAwait: Duration = .seconds(240)) {
        self.fleet = fleet
        self.local = local
        self.stallLimit = fleet.leaseDuration + longestAwait
        self.origin = clock.now
        self.observer = LeaseObserver(nodeID: fleet.nodeID)
    }

    /// This node's monotonic time, the only clock leases are decided on.
    private func now() -> Duration { clock.now - origin }

    /// The function part of the alias claim: ``FunctionName/normalized(_:)``.
    public static func functionKey(_ function: String) -> String {
        FunctionName.normalized(function)
    }

    /// The deployments whose lease this node holds.
    public var owned: [String] { Array(holders.keys) }

    // MARK: - RolloutRecordStore

    /// See ``RolloutRecordStore/create(_:)``: ``FleetStore/start(_:)`` (native), or
    /// ``FleetStore/claim(_:engine:)`` (CodeDeploy: a claim without a lease).
    public func create(_ record: RolloutRecord) async throws(RolloutError) -> String? {
        let deployment = NewFleetDeployment(
            deploymentId: record.deploymentId, functionName: Self.functionKey(record.function), alias: record.alias,
            record: try Self.encode(record), status: record.status.rawValue
        )
        guard record.engine == .native else { return try await fleet.claim(deployment, engine: record.engine.rawValue) }
        let sentAt = now()
        switch try await fleet.start(deployment) {
        case .started(let lease):
            holders[record.deploymentId] = LeaseHolder(lease: lease, sentAt: sentAt, stallLimit: stallLimit)
            written[record.deploymentId] = record
            return nil
        case .conflict(let active):
            return active
        }
    }

    /// See ``RolloutRecordStore/save(_:)``: a save fenced on the lease, consuming the commands
    /// applied since the last one. A terminal record is saved like any other; ``finished(_:)``
    /// frees the alias once its notifications are out. A CodeDeploy record is saved by whichever
    /// daemon read its new status; the terminal one frees the alias (once, fleet-wide).
    public func save(_ record: RolloutRecord) async throws(RolloutError) {
        let deploymentId = record.deploymentId
        let encoded = try Self.encode(record)
        guard record.engine == .native else {
            let function = Self.functionKey(record.function)
            if record.status.isTerminal {
                _ = try await fleet.finishUnleased(
                    deploymentId, functionName: function, alias: record.alias, record: encoded, status: record.status.rawValue
                )
            } else {
                _ = try await fleet.saveUnleased(
                    deploymentId, functionName: function, alias: record.alias, record: encoded, status: record.status.rawValue
                )
            }
            return
        }
        while true {
            guard let holder = holders[deploymentId] else { throw Self.notHeld(deploymentId) }
            let commands = consuming[deploymentId] ?? []
            let result = try await fleet.save(holder.lease, record: encoded, status: record.status.rawValue, consumingCommands: commands)
            switch result {
            case .saved:
                consuming[deploymentId]?.removeAll { commands.contains($0) }
                if holders[deploymentId] != nil { written[deploymentId] = record }
                return
            case .lost:
                release(deploymentId)
                throw Self.notHeld(deploymentId)
            case .commandGone(let command):
                consuming[deploymentId]?.removeAll { $0 == command }
            }
        }
    }

    /// See ``RolloutRecordStore/load(_:)``: one consistent GetItem (then the local records).
    public func load(_ deploymentId: String) async throws(RolloutError) -> RolloutRecord? {
        if let stored = try await fleet.deployment(deploymentId) { return try Self.decode(stored.record) }
        return try await local.load(deploymentId)
    }

    /// See ``RolloutRecordStore/list(function:alias:status:limit:)``: the newest deployments of
    /// the fleet (one Query of `FLEET#RECENT`, one GetItem each) and the local ones.
    public func list(function: String?, alias: String?, status: DeploymentStatus?, limit: Int) async throws(RolloutError) -> [RolloutRecord] {
        var records: [RolloutRecord] = []
        let key = function.map(Self.functionKey)
        for deploymentId in try await fleet.recentDeploymentIds(limit: max(limit, 100)) {
            guard let stored = try await fleet.deployment(deploymentId) else { continue }
            let record = try Self.decode(stored.record)
            if let key, Self.functionKey(record.function) != key { continue }
            if let alias, record.alias != alias { continue }
            if let status, record.status != status { continue }
            records.append(record)
        }
        let fleetIds = Set(records.map(\.deploymentId))
        records += try await local.list(function: function, alias: alias, status: status, limit: limit).filter { !fleetIds.contains($0.deploymentId) }
        return Array(records.sorted { $0.createdAt > $1.createdAt }.prefix(limit))
    }

    /// See ``RolloutRecordStore/active()``: every active deployment of the fleet (one Query of
    /// the alias claims, one GetItem each) and the local ones.
    public func active() async throws(RolloutError) -> [RolloutRecord] {
        var records: [RolloutRecord] = []
        for deploymentId in try await fleet.activeDeploymentIds() {
            guard let stored = try await fleet.deployment(deploymentId) else { continue }
            records.append(try Self.decode(stored.record))
        }
        let fleetIds = Set(records.map(\.deploymentId))
        return records + (try await local.active()).filter { !fleetIds.contains($0.deploymentId) }
    }

    /// See ``RolloutRecordStore/sentNotifications(_:)``.
    public func sentNotifications(_ deploymentId: String) async throws(RolloutError) -> Set<NotificationEvent> {
        Set(try await fleet.sentNotifications(deploymentId).compactMap(NotificationEvent.init(rawValue:)))
            .union(try await local.sentNotifications(deploymentId))
    }

    /// See ``RolloutRecordStore/claimNotification(_:event:)``: the outbox claim, fenced on the
    /// lease; nothing is published for a deployment this node does not hold.
    public func claimNotification(_ deploymentId: String, event: NotificationEvent) async throws(RolloutError) -> Bool {
        guard let holder = holders[deploymentId] else { return try await local.claimNotification(deploymentId, event: event) }
        switch try await fleet.claimNotification(holder.lease, event: event.rawValue) {
        case .claimed: return true
        case .alreadySent: return false
        case .lost:
            release(deploymentId)
            return false
        }
    }

    /// See ``RolloutRecordStore/markSent(_:event:messageId:at:)``: confirms the claim.
    public func markSent(_ deploymentId: String, event: NotificationEvent, messageId: String, at: Double) async throws(RolloutError) {
        guard let holder = holders[deploymentId] else {
            return try await local.markSent(deploymentId, event: event, messageId: messageId, at: at)
        }
        _ = try await fleet.confirmNotification(holder.lease, event: event.rawValue, messageId: messageId)
    }

    /// See ``RolloutRecordStore/forward(_:to:)``: a command for a deployment another node
    /// drives is stored for it (``FleetStore/sendCommand(_:to:)``); its owner applies it within
    /// one renewal period. This returns once the owner applied it (the save that records its
    /// effect consumes the stored command), so the status read next shows the command's effect;
    /// or after one lease, when the owner has not applied it yet (then the next holder does).
    /// A CodeDeploy deployment has no driver: every daemon applies its commands (through
    /// CodeDeploy) itself.
    public func forward(_ command: DeploymentCommand, to deploymentId: String) async throws(RolloutError) -> Bool {
        guard holders[deploymentId] == nil, let stored = try await fleet.deployment(deploymentId), !stored.isFinished,
            try Self.decode(stored.record).engine == .native
        else { return false }
        let id = String(UInt64.random(in: 0...UInt64.max), radix: 36) + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        guard try await fleet.sendCommand(FleetCommand(id: id, name: command.rawValue, payload: [:]), to: deploymentId) else {
            return true
        }
        let deadline = clock.now + fleet.leaseDuration
        while clock.now < deadline {
            guard (try? await Task.sleep(for: Self.commandPollInterval)) != nil else { break }
            if try await !fleet.pendingCommands(deploymentId).contains(where: { $0.id == id }) { break }
        }
        return true
    }

    /// How often a daemon that forwarded a command looks whether the owner applied it.
    static let commandPollInterval: Duration = .milliseconds(200)

    /// See ``RolloutRecordStore/fence(_:)``: a renewal conditional on the epoch, then
    /// ``LeaseHolder/canAct(at:)``. A write that gets no answer is retried while the window is
    /// open; a lost lease, or a window that closed, is false.
    public func fence(_ deploymentId: String) async -> Bool {
        while let holder = holders[deploymentId], holder.canAct(at: now()) {
            let sentAt = now()
            do {
                let result = try await fleet.fence(holder.lease)
                guard var current = holders[deploymentId] else { return false }
                switch result {
                case .held(let lease):
                    current.fenceSucceeded(lease, sentAt: sentAt)
                    holders[deploymentId] = current
                    lastError = nil
                    return current.canAct(at: now())
                case .lost:
                    release(deploymentId)
                    return false
                }
            } catch {
                lastError = "fence of \(deploymentId): \(error.message)"
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        release(deploymentId)
        return false
    }

    /// See ``RolloutRecordStore/owners()``: the owner of every active lease (one Query); empty
    /// when the table cannot be read.
    public func owners() async -> [String: String] {
        guard let leases = try? await fleet.activeLeases() else { return [:] }
        return Dictionary(leases.map { ($0.deploymentId, $0.owner) }, uniquingKeysWith: { first, _ in first })
    }

    /// See ``RolloutRecordStore/unsentNotifications()``: none at startup, when this node holds no
    /// lease yet (an adopter publishes what the previous driver left unsent).
    public func unsentNotifications() async throws(RolloutError) -> [(record: RolloutRecord, events: [NotificationEvent])] {
        []
    }

    /// See ``RolloutRecordStore/checkInInterval``: a third of the lease, so that a run loop
    /// waiting for its next step checks in at every renewal.
    public nonisolated var checkInInterval: Duration? { fleet.leaseDuration / 3 }

    /// See ``RolloutRecordStore/checkIn(_:)``: the lease of a deployment whose run loop went
    /// silent for ``stallLimit`` is no longer renewed (``renewDue()``).
    public func checkIn(_ deploymentId: String) {
        holders[deploymentId]?.driverCheckedIn(at: now())
    }

    /// See ``RolloutRecordStore/drives(_:)``: whether this node holds the lease.
    public func drives(_ deploymentId: String) async -> Bool {
        holders[deploymentId] != nil
    }

    /// See ``RolloutRecordStore/finished(_:)``: the last write (``FleetStore/finish(_:record:status:consumingCommands:)``)
    /// frees the alias and lets go of the lease.
    public func finished(_ deploymentId: String) async {
        for _ in 0..<5 {
            guard let holder = holders[deploymentId], let record = written[deploymentId], record.status.isTerminal else { return }
            do {
                let encoded = try Self.encode(record)
                let commands = consuming[deploymentId] ?? []
                switch try await fleet.finish(holder.lease, record: encoded, status: record.status.rawValue, consumingCommands: commands) {
                case .saved, .lost:
                    release(deploymentId)
                    return
                case .commandGone(let command):
                    consuming[deploymentId]?.removeAll { $0 == command }
                }
            } catch {
                lastError = "finish of \(deploymentId): \(error.message)"
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
    }

    // MARK: - Lease work (FleetDriver)

    /// Sends the renewals that are due (``LeaseHolder/next(at:)``); returns the deployments
    /// this node must stop driving at once, and why (lost, not confirmed in time, or a run loop
    /// that stopped checking in).
    func renewDue() async -> [(deploymentId: String, reason: LeaseHolder.StopReason)] {
        var stopped: [(deploymentId: String, reason: LeaseHolder.StopReason)] = []
        for deploymentId in Array(holders.keys) {
            guard var holder = holders[deploymentId] else { continue }
            let action = holder.next(at: now())
            holders[deploymentId] = holder
            switch action {
            case .wait:
                continue
            case .stop(let reason):
                release(deploymentId)
                if reason == .stalled { stalledHere[deploymentId] = now() }
                stopped.append((deploymentId, reason))
                continue
            case .renew:
                break
            }
            let sentAt = now()
            let result: FleetFenceResult?
            do {
                result = try await fleet.renew(holder.lease)
                lastError = nil
            } catch {
                lastError = "renewal of \(deploymentId): \(error.message)"
                result = nil
            }
            guard var current = holders[deploymentId] else { continue }
            switch result {
            case .held(let lease)?: current.renewalSucceeded(lease, sentAt: sentAt)
            case .lost?: current.renewalFailed(lost: true, at: now())
            case nil: current.renewalFailed(lost: false, at: now())
            }
            holders[deploymentId] = current
            if let reason = current.stopReason {
                release(deploymentId)
                if reason == .stalled { stalledHere[deploymentId] = now() }
                stopped.append((deploymentId, reason))
            }
        }
        return stopped
    }

    /// The commands other nodes stored for the deployments this node holds (one Query each).
    func pendingCommands() async -> [(deploymentId: String, commands: [FleetCommand])] {
        var result: [(deploymentId: String, commands: [FleetCommand])] = []
        for deploymentId in Array(holders.keys) {
            do {
                let commands = try await fleet.pendingCommands(deploymentId)
                if !commands.isEmpty, holders[deploymentId] != nil { result.append((deploymentId, commands)) }
            } catch {
                lastError = "commands of \(deploymentId): \(error.message)"
            }
        }
        return result
    }

    /// `commands` are being applied: the next save of the deployment consumes them. Returns
    /// those that were not already being applied.
    func consume(_ commands: [String], of deploymentId: String) -> Set<String> {
        guard holders[deploymentId] != nil else { return [] }
        let fresh = commands.filter { consuming[deploymentId]?.contains($0) != true }
        consuming[deploymentId, default: []].append(contentsOf: fresh)
        return Set(fresh)
    }

    /// Consumes the commands applied that led to no new state (a pause of a paused
    /// deployment), with a save of the record as it is.
    func consumeLeftovers(of deploymentId: String) async {
        guard consuming[deploymentId]?.isEmpty == false, let record = written[deploymentId], !record.status.isTerminal else { return }
        try? await save(record)
    }

    /// One scan of the active leases for ``LeaseObserver``: the leases to adopt now. Leases
    /// this node holds are left out; one that names this node but that it does not hold was
    /// left by an earlier process of the same `node_id` and is watched like any other.
    func scanForExpired() async -> [FleetLease] {
        let leases: [FleetLease]
        do {
            leases = try await fleet.activeLeases()
            lastError = nil
        } catch {
            lastError = "scan of the active leases: \(error.message)"
            return []
        }
        let nodeID = fleet.nodeID
        // A deployment whose run loop stalled here is left to the other daemons first: this
        // process may be what is stuck (the old run loop's await may never end). After two
        // leases (another daemon needs one to see the lease expire, plus one of slack) this node
        // adopts it back itself, so a fleet of one still finishes it.
        let holdOff = fleet.leaseDuration * 2
        stalledHere = stalledHere.filter { now() < $0.value + holdOff }
        let watched = leases.filter { holders[$0.deploymentId] == nil && stalledHere[$0.deploymentId] == nil }.map { lease in
            var lease = lease
            if lease.owner == nodeID { lease.owner = nodeID + " (an earlier process)" }
            return lease
        }
        return observer.observe(watched, at: now())
    }

    /// When the earliest watched lease can expire if nothing renews it.
    var nextExpiry: Duration? { observer.nextExpiry }

    /// The current monotonic time of this node.
    var monotonicNow: Duration { now() }

    /// Adopts `seen` (an expired lease): this node holds it under the next epoch and returns
    /// the deployment's record, or nil when another node was faster or the owner renewed.
    func adopt(_ seen: FleetLease) async -> (lease: FleetLease, record: RolloutRecord)? {
        observer.forget(seen.deploymentId)
        let sentAt = now()
        do {
            guard case .held(let lease) = try await fleet.adopt(seen) else { return nil }
            holders[seen.deploymentId] = LeaseHolder(lease: lease, sentAt: sentAt, stallLimit: stallLimit)
            guard let stored = try await fleet.deployment(seen.deploymentId) else {
                release(seen.deploymentId)
                return nil
            }
            let record = try Self.decode(stored.record)
            written[seen.deploymentId] = record
            adoptedCount += 1
            return (lease, record)
        } catch {
            lastError = "adoption of \(seen.deploymentId): \(error.message)"
            return nil
        }
    }

    // MARK: - Helpers

    /// Lets go of the deployment: finished, lost, or no longer confirmable.
    private func release(_ deploymentId: String) {
        holders[deploymentId] = nil
        written[deploymentId] = nil
        consuming[deploymentId] = nil
    }

    private static func notHeld(_ deploymentId: String) -> RolloutError {
        RolloutError(.preconditionFailed, "this daemon no longer holds the lease of deployment \(deploymentId); another one drives it")
    }

    static func encode(_ record: RolloutRecord) throws(RolloutError) -> JSONValue {
        do {
            return try JSONValueEncoder().encode(record)
        } catch {
            throw RolloutError.internalError("cannot encode deployment \(record.deploymentId): \(error)")
        }
    }

    static func decode(_ value: JSONValue) throws(RolloutError) -> RolloutRecord {
        do {
            return try JSONValueDecoder().decode(RolloutRecord.self, from: value)
        } catch {
            throw RolloutError.internalError("a deployment record in the fleet table cannot be read: \(error)")
        }
    }
}

public import RolloutAWS
public import RolloutCore

/// Fleet mode's shared state in one DynamoDB table (SPEC §11), every consensus step a
/// conditional write. Layout: ``FleetItems``; protocol: `docs/fleet.md`.
///
/// The store makes no decision about time: the lease holder and the adopter use
/// ``LeaseHolder`` and ``LeaseObserver`` and call it. Wall-clock readings go only into
/// display fields (`expiresAt`, `updatedAt`) and TTLs.
///
/// Writes retried by the AWS client after a lost response can meet their own first attempt.
/// Each lease write stores a fresh RVN, so a failed condition whose item carries the RVN this
/// call wrote is recognised as this call's success; transactions carry a `ClientRequestToken`.
public struct FleetStore: Sendable {
    /// The client.
    public let dynamoDB: DynamoDBClient
    /// The table.
    public let table: String
    /// This node.
    public let nodeID: String
    /// The lease this node writes (`[fleet] lease_secs`).
    public let leaseDuration: Duration
    /// How long finished deployments, consumed outboxes and idempotency records stay before
    /// TTL deletes them.
    public let retention: Duration
    private let wallClockMs: @Sendable () -> Int64

    /// A store over `table` for `nodeID`.
    ///
    /// - Parameters:
    ///   - wallClockMs: milliseconds since the Unix epoch, for display fields and TTLs only.
    ///   - retention: how long finished records are kept (default 7 days).
    public init(
        dynamoDB: DynamoDBClient, table: String, nodeID: String, leaseDuration: Duration,
        retention: Duration = .seconds(7 * 86_400), wallClockMs: @escaping @Sendable () -> Int64
    ) {
        self.dynamoDB = dynamoDB
        self.table = table
        self.nodeID = nodeID
        self.leaseDuration = leaseDuration
        self.retention = retention
        self.wallClockMs = wallClockMs
    }

    // MARK: Deployments and leases

    /// Claims the alias for `deployment` and stores its first record, in one transaction: the
    /// per-alias item (which is also the lease, epoch 1, owned by this node) only if the alias
    /// has no active deployment. One TransactWriteItems.
    public func start(_ deployment: NewFleetDeployment) async throws(RolloutError) -> FleetStartResult {
        let now = wallClockMs()
        let lease = FleetLease(
            deploymentId: deployment.deploymentId, functionName: deployment.functionName, alias: deployment.alias,
            owner: nodeID, epoch: 1, rvn: Self.token(), duration: leaseDuration, expiresAtMs: now + leaseDuration.milliseconds
        )
        var claim = leaseAttributes(lease)
        claim[FleetAttribute.startedAt] = .number(now)
        switch try await claimAlias(deployment, claim: claim, now: now, operation: "start") {
        case .claimed:
            return .started(lease)
        case .heldBy(let item):
            if let active = Self.lease(from: item), active.deploymentId == deployment.deploymentId, active.rvn == lease.rvn {
                return .started(active)
            }
            return .conflict(activeDeploymentId: try activeDeploymentId(in: item, for: deployment))
        }
    }

    /// Claims the alias for a deployment whose state another service keeps (the CodeDeploy
    /// engine: CodeDeploy shifts the alias, so nobody drives it and it has no lease) and stores
    /// its first record, in one transaction, only if the alias has no active deployment. The
    /// claim item names the deployment and its `engine` but no owner, so no daemon adopts it;
    /// ``finishUnleased(_:functionName:alias:record:status:)`` frees it. Returns nil when
    /// claimed, else the id of the deployment active on the alias. One TransactWriteItems.
    public func claim(_ deployment: NewFleetDeployment, engine: String) async throws(RolloutError) -> String? {
        let now = wallClockMs()
        let token = Self.token()
        var claim = FleetItems.leaseKey(functionName: deployment.functionName, alias: deployment.alias)
        claim[FleetAttribute.deploymentId] = .s(deployment.deploymentId)
        claim[FleetAttribute.functionName] = .s(deployment.functionName)
        claim[FleetAttribute.alias] = .s(deployment.alias)
        claim[FleetAttribute.engine] = .s(engine)
        claim[FleetAttribute.token] = .s(token)
        claim[FleetAttribute.startedAt] = .number(now)
        switch try await claimAlias(deployment, claim: claim, now: now, operation: "claim") {
        case .claimed:
            return nil
        case .heldBy(let item):
            if item[FleetAttribute.deploymentId]?.stringValue == deployment.deploymentId, item[FleetAttribute.token]?.stringValue == token {
                return nil
            }
            return try activeDeploymentId(in: item, for: deployment)
        }
    }

    private enum AliasClaim {
        case claimed
        /// The claim item that made the claim fail (this call's own, when a retried write met it).
        case heldBy(DynamoDBItem)
    }

    /// The claim item `claim` (only if the alias has none), the deployment's `STATE` (only if
    /// new) and its `FLEET#RECENT` entry, in one transaction.
    private func claimAlias(
        _ deployment: NewFleetDeployment, claim: DynamoDBItem, now: Int64, operation: String
    ) async throws(RolloutError) -> AliasClaim {
        let stateItem = stateAttributes(
            deploymentId: deployment.deploymentId, functionName: deployment.functionName, alias: deployment.alias,
            record: deployment.record, status: deployment.status, epoch: claim[FleetAttribute.epoch]?.int64Value ?? 0,
            finished: false, now: now
        )
        let notExists = "attribute_not_exists(#pk)"
        let names = ExpressionAttributes(names: ["#pk": FleetItems.partitionKey])
        var recentItem = FleetItems.recentKey(startedAtMs: now, deploymentId: deployment.deploymentId)
        recentItem[FleetAttribute.deploymentId] = .s(deployment.deploymentId)
        recentItem[FleetItems.purgeAt] = .number(purgeAt(now))
        let result = try await dynamoDB.transactWriteItems(
            [
                .put(PutItemRequest(table: table, item: claim, condition: notExists, attributes: names)),
                .put(PutItemRequest(table: table, item: stateItem, condition: notExists, attributes: names)),
                .put(PutItemRequest(table: table, item: recentItem)),
            ],
            clientRequestToken: Self.token()
        )
        switch result {
        case .committed:
            return .claimed
        case .cancelled(let reasons):
            try Self.throwIfTransient(reasons, operation: operation)
            if let item = reasons.first?.item { return .heldBy(item) }
            let current = try await dynamoDB.getItem(table, key: FleetItems.leaseKey(functionName: deployment.functionName, alias: deployment.alias))
            return .heldBy(current ?? [:])
        }
    }

    /// The deployment a failed claim met on the alias: Conflict when it is `deployment` itself
    /// (its id is in the table already) or when the alias item cannot be read.
    private func activeDeploymentId(in item: DynamoDBItem, for deployment: NewFleetDeployment) throws(RolloutError) -> String {
        if let active = item[FleetAttribute.deploymentId]?.stringValue, active != deployment.deploymentId { return active }
        throw RolloutError(
            .conflict, "deployment \(deployment.deploymentId) exists already in the fleet table \(table)",
            data: ["deploymentId": .string(deployment.deploymentId)]
        )
    }

    /// Renews `lease`: a fresh RVN (and display expiry), only while this node holds it under
    /// the same epoch. One UpdateItem.
    public func renew(_ lease: FleetLease) async throws(RolloutError) -> FleetFenceResult {
        let fresh = Self.token()
        let now = wallClockMs()
        let request = UpdateItemRequest(
            table: table, key: FleetItems.leaseKey(functionName: lease.functionName, alias: lease.alias),
            update: "SET #rvn = :rvn, #expiresAt = :expiresAt, #leaseMs = :leaseMs",
            condition: Self.heldCondition,
            attributes: ExpressionAttributes(
                names: Self.heldNames.merging(["#rvn": FleetAttribute.rvn, "#expiresAt": FleetAttribute.expiresAt, "#leaseMs": FleetAttribute.leaseMs]) { $1 },
                values: heldValues(lease).merging([
                    ":rvn": .s(fresh), ":expiresAt": .number(now + leaseDuration.milliseconds),
                    ":leaseMs": .number(leaseDuration.milliseconds),
                ]) { $1 }
            ),
            returnsNewItem: true
        )
        switch try await dynamoDB.updateItem(request) {
        case .written(let item):
            return .held(item.flatMap(Self.lease(from:)) ?? lease)
        case .conditionFailed(let item):
            let current = item.flatMap(Self.lease(from:))
            if let current, current.rvn == fresh { return .held(current) }
            return .lost(current: current)
        }
    }

    /// The fence before a side effect (an alias change): a renewal, so it both proves that
    /// this node holds `lease` under its epoch at this moment and restarts every observer's
    /// wait. Check ``LeaseHolder/canAct(at:)`` after it, and fence the side effect itself
    /// (`UpdateAlias` with `RevisionId`). One UpdateItem.
    public func fence(_ lease: FleetLease) async throws(RolloutError) -> FleetFenceResult {
        try await renew(lease)
    }

    /// Adopts `seen`, a lease another node let expire (``LeaseObserver``): owner this node,
    /// epoch + 1, a fresh RVN — only if the lease still carries the RVN and epoch seen. One
    /// UpdateItem.
    public func adopt(_ seen: FleetLease) async throws(RolloutError) -> FleetFenceResult {
        let fresh = Self.token()
        let now = wallClockMs()
        let request = UpdateItemRequest(
            table: table, key: FleetItems.leaseKey(functionName: seen.functionName, alias: seen.alias),
            update: "SET #owner = :me, #epoch = :next, #rvn = :rvn, #expiresAt = :expiresAt, #leaseMs = :leaseMs",
            condition: "#rvn = :seen AND #epoch = :epoch AND #dep = :dep",
            attributes: ExpressionAttributes(
                names: [
                    "#owner": FleetAttribute.owner, "#epoch": FleetAttribute.epoch, "#rvn": FleetAttribute.rvn,
                    "#expiresAt": FleetAttribute.expiresAt, "#leaseMs": FleetAttribute.leaseMs, "#dep": FleetAttribute.deploymentId,
                ],
                values: [
                    ":me": .s(nodeID), ":next": .number(seen.epoch + 1), ":rvn": .s(fresh),
                    ":expiresAt": .number(now + leaseDuration.milliseconds), ":leaseMs": .number(leaseDuration.milliseconds),
                    ":seen": .s(seen.rvn), ":epoch": .number(seen.epoch), ":dep": .s(seen.deploymentId),
                ]
            ),
            returnsNewItem: true
        )
        switch try await dynamoDB.updateItem(request) {
        case .written(let item):
            guard let lease = item.flatMap(Self.lease(from:)) else {
                throw .internalError("DynamoDB UpdateItem on \(table) returned no lease for \(seen.deploymentId)")
            }
            return .held(lease)
        case .conditionFailed(let item):
            let current = item.flatMap(Self.lease(from:))
            if let current, current.rvn == fresh { return .held(current) }
            return .lost(current: current)
        }
    }

    /// Every active deployment's lease: one consistent Query of `FLEET#ACTIVE` (paginated).
    /// Claims without a lease (``claim(_:engine:)``) are left out.
    public func activeLeases() async throws(RolloutError) -> [FleetLease] {
        try await activeClaims().compactMap(Self.lease(from:))
    }

    /// The ids of every active deployment of the fleet, leased or not: one consistent Query of
    /// `FLEET#ACTIVE` (paginated).
    public func activeDeploymentIds() async throws(RolloutError) -> [String] {
        try await activeClaims().compactMap { $0[FleetAttribute.deploymentId]?.stringValue }
    }

    private func activeClaims() async throws(RolloutError) -> [DynamoDBItem] {
        try await dynamoDB.queryAll(
            QueryRequest(
                table: table, keyCondition: "#pk = :pk AND begins_with(#sk, :prefix)",
                attributes: ExpressionAttributes(
                    names: ["#pk": FleetItems.partitionKey, "#sk": FleetItems.sortKey],
                    values: [":pk": .s(FleetItems.activePartition), ":prefix": .s(FleetItems.aliasPrefix)]
                ),
                consistentRead: true
            )
        )
    }

    /// The lease of the deployment active on `functionName`:`alias`, if any. One consistent GetItem.
    public func activeLease(functionName: String, alias: String) async throws(RolloutError) -> FleetLease? {
        try await dynamoDB.getItem(table, key: FleetItems.leaseKey(functionName: functionName, alias: alias))
            .flatMap(Self.lease(from:))
    }

    /// Writes the deployment's record while this node holds `lease`, consuming `commands` (by
    /// id) in the same transaction, so a command is applied exactly once with the state it led
    /// to. One TransactWriteItems (ConditionCheck + Put + one Delete per command).
    public func save(
        _ lease: FleetLease, record: JSONValue, status: String, consumingCommands commands: [String] = []
    ) async throws(RolloutError) -> FleetSaveResult {
        try await write(lease, record: record, status: status, commands: commands, finished: false)
    }

    /// The last write of a deployment: its final record (kept for ``retention``, then deleted
    /// by TTL) and the release of the alias, which frees it for the next deployment, while this
    /// node holds `lease`. One TransactWriteItems (Delete + Put + one Delete per command).
    public func finish(
        _ lease: FleetLease, record: JSONValue, status: String, consumingCommands commands: [String] = []
    ) async throws(RolloutError) -> FleetSaveResult {
        try await write(lease, record: record, status: status, commands: commands, finished: true)
    }

    /// Writes the record of a deployment claimed with ``claim(_:engine:)`` (any daemon may: the
    /// record follows what CodeDeploy answered), unless it finished. False when it finished
    /// already (nothing written). One PutItem.
    public func saveUnleased(
        _ deploymentId: String, functionName: String, alias: String, record: JSONValue, status: String
    ) async throws(RolloutError) -> Bool {
        let item = stateAttributes(
            deploymentId: deploymentId, functionName: functionName, alias: alias, record: record, status: status, epoch: 0,
            finished: false, now: wallClockMs()
        )
        let request = PutItemRequest(
            table: table, item: item, condition: "attribute_not_exists(#purgeAt)",
            attributes: ExpressionAttributes(names: ["#purgeAt": FleetItems.purgeAt])
        )
        return try await putIfConditionHolds(request)
    }

    /// The last write of a deployment claimed with ``claim(_:engine:)``: its final record and
    /// the release of the alias, exactly once across the fleet (every daemon that sees it end
    /// may try; the record's `purgeAt` is the condition). True for the write that finished it,
    /// false when it had finished already. One TransactWriteItems (Delete claim + Put `STATE`).
    public func finishUnleased(
        _ deploymentId: String, functionName: String, alias: String, record: JSONValue, status: String
    ) async throws(RolloutError) -> Bool {
        let item = stateAttributes(
            deploymentId: deploymentId, functionName: functionName, alias: alias, record: record, status: status, epoch: 0,
            finished: true, now: wallClockMs()
        )
        let actions: [TransactWriteAction] = [
            .delete(DeleteItemRequest(
                table: table, key: FleetItems.leaseKey(functionName: functionName, alias: alias),
                // The alias may have no claim (a record saved without one); another deployment's stays.
                condition: "attribute_not_exists(#pk) OR #dep = :dep",
                attributes: ExpressionAttributes(
                    names: ["#pk": FleetItems.partitionKey, "#dep": FleetAttribute.deploymentId], values: [":dep": .s(deploymentId)]
                )
            )),
            .put(PutItemRequest(
                table: table, item: item, condition: "attribute_not_exists(#purgeAt)",
                attributes: ExpressionAttributes(names: ["#purgeAt": FleetItems.purgeAt])
            )),
        ]
        switch try await dynamoDB.transactWriteItems(actions, clientRequestToken: Self.token()) {
        case .committed:
            return true
        case .cancelled(let reasons):
            try Self.throwIfTransient(reasons, operation: "finish")
            if reasons.contains(where: \.isConditionFailure) { return false }
            throw .internalError("DynamoDB cancelled the finish of \(deploymentId) without a reason")
        }
    }

    /// Releases the alias claim alone (a claim whose deployment never started, say), while
    /// this node holds `lease`. One DeleteItem.
    public func release(_ lease: FleetLease) async throws(RolloutError) -> Bool {
        let request = DeleteItemRequest(
            table: table, key: FleetItems.leaseKey(functionName: lease.functionName, alias: lease.alias),
            condition: Self.heldCondition, attributes: ExpressionAttributes(names: Self.heldNames, values: heldValues(lease))
        )
        switch try await dynamoDB.deleteItem(request) {
        case .written: return true
        case .conditionFailed(let item): return item == nil
        }
    }

    /// The ids of the deployments started in the fleet, newest first, at most `limit` (those
    /// of the last ``retention``): one consistent Query of `FLEET#RECENT`.
    public func recentDeploymentIds(limit: Int) async throws(RolloutError) -> [String] {
        let page = try await dynamoDB.query(
            QueryRequest(
                table: table, keyCondition: "#pk = :pk",
                attributes: ExpressionAttributes(names: ["#pk": FleetItems.partitionKey], values: [":pk": .s(FleetItems.recentPartition)]),
                consistentRead: true, limit: limit, ascending: false
            )
        )
        return page.items.compactMap { $0[FleetAttribute.deploymentId]?.stringValue }
    }

    /// The deployment's stored record. One consistent GetItem.
    public func deployment(_ deploymentId: String) async throws(RolloutError) -> FleetDeploymentRecord? {
        guard let item = try await dynamoDB.getItem(table, key: FleetItems.stateKey(deploymentId)) else { return nil }
        guard let text = item[FleetAttribute.record]?.stringValue, let record = try? JSONParser.parse(Array(text.utf8)) else {
            throw .internalError("the fleet table \(table) holds an unreadable record for deployment \(deploymentId)")
        }
        return FleetDeploymentRecord(
            deploymentId: deploymentId, functionName: item[FleetAttribute.functionName]?.stringValue ?? "",
            alias: item[FleetAttribute.alias]?.stringValue ?? "", record: record,
            status: item[FleetAttribute.status]?.stringValue ?? "", epoch: item[FleetAttribute.epoch]?.int64Value ?? 0,
            writer: item[FleetAttribute.writer]?.stringValue ?? "", updatedAtMs: item[FleetAttribute.updatedAt]?.int64Value ?? 0,
            isFinished: item[FleetItems.purgeAt] != nil
        )
    }

    private func write(
        _ lease: FleetLease, record: JSONValue, status: String, commands: [String], finished: Bool
    ) async throws(RolloutError) -> FleetSaveResult {
        let now = wallClockMs()
        let leaseKey = FleetItems.leaseKey(functionName: lease.functionName, alias: lease.alias)
        let held = ExpressionAttributes(names: Self.heldNames, values: heldValues(lease))
        var actions: [TransactWriteAction] = [
            finished
                ? .delete(DeleteItemRequest(table: table, key: leaseKey, condition: Self.heldCondition, attributes: held))
                : .conditionCheck(ConditionCheckRequest(table: table, key: leaseKey, condition: Self.heldCondition, attributes: held)),
            .put(PutItemRequest(
                table: table,
                item: stateAttributes(
                    deploymentId: lease.deploymentId, functionName: lease.functionName, alias: lease.alias, record: record,
                    status: status, epoch: lease.epoch, finished: finished, now: now
                )
            )),
        ]
        for command in commands {
            actions.append(.delete(DeleteItemRequest(
                table: table, key: FleetItems.commandKey(lease.deploymentId, command), condition: "attribute_exists(#pk)",
                attributes: ExpressionAttributes(names: ["#pk": FleetItems.partitionKey])
            )))
        }
        switch try await dynamoDB.transactWriteItems(actions, clientRequestToken: Self.token()) {
        case .committed:
            return .saved
        case .cancelled(let reasons):
            try Self.throwIfTransient(reasons, operation: finished ? "finish" : "save")
            if reasons.first?.isConditionFailure == true { return .lost }
            for (index, reason) in reasons.enumerated().dropFirst(2) where reason.isConditionFailure {
                return .commandGone(commands[index - 2])
            }
            throw .internalError("DynamoDB cancelled the \(finished ? "finish" : "save") of \(lease.deploymentId) without a reason")
        }
    }

    // MARK: Commands

    /// A conditional PutItem: true when written, false when its condition failed.
    private func putIfConditionHolds(_ request: PutItemRequest) async throws(RolloutError) -> Bool {
        switch try await dynamoDB.putItem(request) {
        case .written: return true
        case .conditionFailed: return false
        }
    }

    /// Stores `command` for the deployment's owner, which applies it within one renewal
    /// period (``pendingCommands(_:)``, then ``save(_:record:status:consumingCommands:)``).
    /// False when a command with that id is stored already. One PutItem.
    public func sendCommand(_ command: FleetCommand, to deploymentId: String) async throws(RolloutError) -> Bool {
        let now = wallClockMs()
        var item = FleetItems.commandKey(deploymentId, command.id)
        item[FleetAttribute.deploymentId] = .s(deploymentId)
        item[FleetAttribute.command] = .s(command.name)
        item[FleetAttribute.payload] = .s(Self.text(command.payload))
        item[FleetAttribute.from] = .s(nodeID)
        item[FleetAttribute.createdAt] = .number(now)
        item[FleetItems.purgeAt] = .number(purgeAt(now))
        let request = PutItemRequest(
            table: table, item: item, condition: "attribute_not_exists(#pk)",
            attributes: ExpressionAttributes(names: ["#pk": FleetItems.partitionKey])
        )
        return try await putIfConditionHolds(request)
    }

    /// The commands waiting for the deployment's owner, oldest id first. One consistent Query.
    public func pendingCommands(_ deploymentId: String) async throws(RolloutError) -> [FleetCommand] {
        let items = try await queryDeployment(deploymentId, prefix: FleetItems.commandPrefix)
        return items.compactMap { item in
            guard let sk = item[FleetItems.sortKey]?.stringValue, let name = item[FleetAttribute.command]?.stringValue else {
                return nil
            }
            let payload = item[FleetAttribute.payload]?.stringValue.flatMap { try? JSONParser.parse(Array($0.utf8)) } ?? .null
            return FleetCommand(
                id: String(sk.dropFirst(FleetItems.commandPrefix.count)), name: name, payload: payload,
                from: item[FleetAttribute.from]?.stringValue ?? "", createdAtMs: item[FleetAttribute.createdAt]?.int64Value ?? 0
            )
        }
    }

    // MARK: Notification outbox

    /// Claims the right to publish `event` of the deployment, while this node holds `lease`:
    /// granted when nobody claimed it, or when an owner of an older epoch claimed it and never
    /// confirmed (it may have died between claim and publish; a FIFO topic's
    /// `MessageDeduplicationId` of `deploymentId:event` closes that window). One
    /// TransactWriteItems (ConditionCheck on the lease + Put).
    public func claimNotification(_ lease: FleetLease, event: String) async throws(RolloutError) -> FleetOutboxClaim {
        let now = wallClockMs()
        var item = FleetItems.outboxKey(lease.deploymentId, event)
        item[FleetAttribute.deploymentId] = .s(lease.deploymentId)
        item[FleetAttribute.event] = .s(event)
        item[FleetAttribute.state] = .s("claimed")
        item[FleetAttribute.claimedBy] = .s(nodeID)
        item[FleetAttribute.claimEpoch] = .number(lease.epoch)
        item[FleetAttribute.createdAt] = .number(now)
        item[FleetItems.purgeAt] = .number(purgeAt(now))
        let claim = PutItemRequest(
            table: table, item: item,
            condition: "attribute_not_exists(#pk) OR (#state = :claimed AND (#claimEpoch < :epoch OR (#claimEpoch = :epoch AND #claimedBy = :me)))",
            attributes: ExpressionAttributes(
                names: [
                    "#pk": FleetItems.partitionKey, "#state": FleetAttribute.state, "#claimEpoch": FleetAttribute.claimEpoch,
                    "#claimedBy": FleetAttribute.claimedBy,
                ],
                values: [":claimed": .s("claimed"), ":epoch": .number(lease.epoch), ":me": .s(nodeID)]
            )
        )
        let check = ConditionCheckRequest(
            table: table, key: FleetItems.leaseKey(functionName: lease.functionName, alias: lease.alias),
            condition: Self.heldCondition, attributes: ExpressionAttributes(names: Self.heldNames, values: heldValues(lease))
        )
        switch try await dynamoDB.transactWriteItems([.conditionCheck(check), .put(claim)], clientRequestToken: Self.token()) {
        case .committed:
            return .claimed
        case .cancelled(let reasons):
            try Self.throwIfTransient(reasons, operation: "claimNotification")
            if reasons.first?.isConditionFailure == true { return .lost }
            return .alreadySent
        }
    }

    /// Marks `event` published, by the owner that claimed it under `lease`'s epoch. False when
    /// the claim is no longer this node's (an adopter re-claimed it). One UpdateItem.
    public func confirmNotification(_ lease: FleetLease, event: String, messageId: String?) async throws(RolloutError) -> Bool {
        var values: DynamoDBItem = [
            ":sent": .s("sent"), ":claimed": .s("claimed"), ":epoch": .number(lease.epoch), ":me": .s(nodeID),
            ":now": .number(wallClockMs()),
        ]
        var update = "SET #state = :sent, #updatedAt = :now"
        var names = [
            "#state": FleetAttribute.state, "#claimEpoch": FleetAttribute.claimEpoch, "#claimedBy": FleetAttribute.claimedBy,
            "#updatedAt": FleetAttribute.updatedAt,
        ]
        if let messageId {
            update += ", #messageId = :messageId"
            names["#messageId"] = FleetAttribute.messageId
            values[":messageId"] = .s(messageId)
        }
        let request = UpdateItemRequest(
            table: table, key: FleetItems.outboxKey(lease.deploymentId, event), update: update,
            condition: "#claimedBy = :me AND #claimEpoch = :epoch AND (#state = :claimed OR #state = :sent)",
            attributes: ExpressionAttributes(names: names, values: values)
        )
        switch try await dynamoDB.updateItem(request) {
        case .written: return true
        case .conditionFailed: return false
        }
    }

    /// The events of the deployment whose notification was confirmed sent. One consistent Query.
    public func sentNotifications(_ deploymentId: String) async throws(RolloutError) -> [String] {
        try await queryDeployment(deploymentId, prefix: FleetItems.outboxPrefix)
            .filter { $0[FleetAttribute.state]?.stringValue == "sent" }
            .compactMap { $0[FleetAttribute.event]?.stringValue }
    }

    // MARK: Idempotency

    /// Starts a keyed `rollout.start`/`stop`/`promote` fleet-wide: the first call with
    /// (method, key) anywhere in the fleet runs; later ones replay its result. `fingerprint`
    /// identifies the params. One PutItem.
    public func beginIdempotent(method: String, key: String, fingerprint: String) async throws(RolloutError) -> FleetIdempotencyBegin {
        let token = Self.token()
        let now = wallClockMs()
        var item = FleetItems.idempotencyKey(method: method, key: key)
        item[FleetAttribute.fingerprint] = .s(fingerprint)
        item[FleetAttribute.state] = .s("started")
        item[FleetAttribute.token] = .s(token)
        item[FleetAttribute.beat] = .s(token)
        item[FleetAttribute.node] = .s(nodeID)
        item[FleetAttribute.createdAt] = .number(now)
        item[FleetItems.purgeAt] = .number(purgeAt(now))
        let request = PutItemRequest(
            table: table, item: item, condition: "attribute_not_exists(#pk)",
            attributes: ExpressionAttributes(names: ["#pk": FleetItems.partitionKey])
        )
        switch try await dynamoDB.putItem(request) {
        case .written:
            return .run(token: token)
        case .conditionFailed(let existing):
            guard let existing else { return .inProgress(node: "", token: "", beat: "") }
            if existing[FleetAttribute.token]?.stringValue == token { return .run(token: token) }
            if existing[FleetAttribute.fingerprint]?.stringValue != fingerprint { return .mismatch }
            if existing[FleetAttribute.state]?.stringValue == "done",
                let text = existing[FleetAttribute.result]?.stringValue, let result = try? JSONParser.parse(Array(text.utf8))
            {
                return .replay(result)
            }
            return .inProgress(
                node: existing[FleetAttribute.node]?.stringValue ?? "", token: existing[FleetAttribute.token]?.stringValue ?? "",
                beat: existing[FleetAttribute.beat]?.stringValue ?? ""
            )
        }
    }

    /// Records the result of the call that began with `token`. False when the record is no
    /// longer that call's. One UpdateItem.
    public func finishIdempotent(method: String, key: String, token: String, result: JSONValue) async throws(RolloutError) -> Bool {
        let request = UpdateItemRequest(
            table: table, key: FleetItems.idempotencyKey(method: method, key: key),
            update: "SET #state = :done, #result = :result, #updatedAt = :now",
            condition: "#token = :token",
            attributes: ExpressionAttributes(
                names: [
                    "#state": FleetAttribute.state, "#result": FleetAttribute.result, "#updatedAt": FleetAttribute.updatedAt,
                    "#token": FleetAttribute.token,
                ],
                values: [":done": .s("done"), ":result": .s(Self.text(result)), ":now": .number(wallClockMs()), ":token": .s(token)]
            )
        )
        switch try await dynamoDB.updateItem(request) {
        case .written: return true
        case .conditionFailed: return false
        }
    }

    /// Drops the record of a call that failed with no effect (so a retry runs again), if it is
    /// still that call's. One DeleteItem.
    public func abandonIdempotent(method: String, key: String, token: String) async throws(RolloutError) {
        _ = try await dynamoDB.deleteItem(DeleteItemRequest(
            table: table, key: FleetItems.idempotencyKey(method: method, key: key), condition: "#token = :token AND #state = :started",
            attributes: ExpressionAttributes(
                names: ["#token": FleetAttribute.token, "#state": FleetAttribute.state],
                values: [":token": .s(token), ":started": .s("started")]
            )
        ))
    }

    /// Takes over a started record whose node is gone (the caller decided it is: its lease was
    /// adopted, say): the record becomes this call's, if it still carries `staleToken`. One UpdateItem.
    public func takeOverIdempotent(method: String, key: String, staleToken: String, staleBeat: String? = nil) async throws(RolloutError) -> String? {
        let token = Self.token()
        var condition = "#token = :stale AND #state = :started"
        var names = ["#token": FleetAttribute.token, "#node": FleetAttribute.node, "#state": FleetAttribute.state, "#beat": FleetAttribute.beat]
        var values: DynamoDBItem = [":token": .s(token), ":me": .s(nodeID), ":stale": .s(staleToken), ":started": .s("started")]
        if let staleBeat {
            // Still the beat the waiter watched for a whole lease: its node has not been heard since.
            condition += " AND (attribute_not_exists(#beat) OR #beat = :beat)"
            values[":beat"] = .s(staleBeat)
        }
        names["#beat"] = FleetAttribute.beat
        let request = UpdateItemRequest(
            table: table, key: FleetItems.idempotencyKey(method: method, key: key), update: "SET #token = :token, #node = :me, #beat = :token",
            condition: condition,
            attributes: ExpressionAttributes(names: names, values: values)
        )
        switch try await dynamoDB.updateItem(request) {
        case .written: return token
        case .conditionFailed(let item): return item?[FleetAttribute.token]?.stringValue == token ? token : nil
        }
    }

    /// Tells waiters on another node that the call holding `token` is still running (a new
    /// beat). False when the record is no longer that call's. One UpdateItem.
    public func beatIdempotent(method: String, key: String, token: String) async throws(RolloutError) -> Bool {
        let request = UpdateItemRequest(
            table: table, key: FleetItems.idempotencyKey(method: method, key: key), update: "SET #beat = :beat",
            condition: "#token = :token AND #state = :started",
            attributes: ExpressionAttributes(
                names: ["#beat": FleetAttribute.beat, "#token": FleetAttribute.token, "#state": FleetAttribute.state],
                values: [":beat": .s(Self.token()), ":token": .s(token), ":started": .s("started")]
            )
        )
        switch try await dynamoDB.updateItem(request) {
        case .written: return true
        case .conditionFailed: return false
        }
    }

    // MARK: Items

    /// The lease is held by this node under its epoch, for this deployment.
    static let heldCondition = "#owner = :me AND #epoch = :epoch AND #dep = :dep"
    static let heldNames = ["#owner": FleetAttribute.owner, "#epoch": FleetAttribute.epoch, "#dep": FleetAttribute.deploymentId]

    private func heldValues(_ lease: FleetLease) -> DynamoDBItem {
        [":me": .s(nodeID), ":epoch": .number(lease.epoch), ":dep": .s(lease.deploymentId)]
    }

    private func leaseAttributes(_ lease: FleetLease) -> DynamoDBItem {
        var item = FleetItems.leaseKey(functionName: lease.functionName, alias: lease.alias)
        item[FleetAttribute.deploymentId] = .s(lease.deploymentId)
        item[FleetAttribute.functionName] = .s(lease.functionName)
        item[FleetAttribute.alias] = .s(lease.alias)
        item[FleetAttribute.owner] = .s(lease.owner)
        item[FleetAttribute.epoch] = .number(lease.epoch)
        item[FleetAttribute.rvn] = .s(lease.rvn)
        item[FleetAttribute.leaseMs] = .number(lease.duration.milliseconds)
        item[FleetAttribute.expiresAt] = .number(lease.expiresAtMs)
        return item
    }

    private func stateAttributes(
        deploymentId: String, functionName: String, alias: String, record: JSONValue, status: String, epoch: Int64,
        finished: Bool, now: Int64
    ) -> DynamoDBItem {
        var item = FleetItems.stateKey(deploymentId)
        item[FleetAttribute.deploymentId] = .s(deploymentId)
        item[FleetAttribute.functionName] = .s(functionName)
        item[FleetAttribute.alias] = .s(alias)
        item[FleetAttribute.record] = .s(Self.text(record))
        item[FleetAttribute.status] = .s(status)
        item[FleetAttribute.epoch] = .number(epoch)
        item[FleetAttribute.writer] = .s(nodeID)
        item[FleetAttribute.updatedAt] = .number(now)
        if finished { item[FleetItems.purgeAt] = .number(purgeAt(now)) }
        return item
    }

    static func lease(from item: DynamoDBItem) -> FleetLease? {
        guard let deploymentId = item[FleetAttribute.deploymentId]?.stringValue,
            let functionName = item[FleetAttribute.functionName]?.stringValue,
            let alias = item[FleetAttribute.alias]?.stringValue, let owner = item[FleetAttribute.owner]?.stringValue,
            let epoch = item[FleetAttribute.epoch]?.int64Value, let rvn = item[FleetAttribute.rvn]?.stringValue,
            let leaseMs = item[FleetAttribute.leaseMs]?.int64Value
        else { return nil }
        return FleetLease(
            deploymentId: deploymentId, functionName: functionName, alias: alias, owner: owner, epoch: epoch, rvn: rvn,
            duration: .milliseconds(leaseMs), expiresAtMs: item[FleetAttribute.expiresAt]?.int64Value ?? 0
        )
    }

    private func queryDeployment(_ deploymentId: String, prefix: String) async throws(RolloutError) -> [DynamoDBItem] {
        try await dynamoDB.queryAll(
            QueryRequest(
                table: table, keyCondition: "#pk = :pk AND begins_with(#sk, :prefix)",
                attributes: ExpressionAttributes(
                    names: ["#pk": FleetItems.partitionKey, "#sk": FleetItems.sortKey],
                    values: [":pk": .s(FleetItems.deploymentPartition(deploymentId)), ":prefix": .s(prefix)]
                ),
                consistentRead: true
            )
        )
    }

    private func purgeAt(_ nowMs: Int64) -> Int64 {
        nowMs / 1000 + retention.seconds
    }

    /// A transaction that another one raced (`TransactionConflict`) or that was throttled is
    /// worth retrying: Unavailable, recoverable.
    private static func throwIfTransient(_ reasons: [CancellationReason], operation: String) throws(RolloutError) {
        let transient = reasons.first { ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"].contains($0.code) }
        if let transient {
            throw RolloutError(
                .unavailable, "the fleet \(operation) was cancelled by DynamoDB (\(transient.code)); retry",
                data: ["upstream": .object(["service": "dynamodb", "code": .string(transient.code)])]
            )
        }
    }

    /// 128 random bits in hex: RVNs, tokens.
    static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        return [generator.next(), generator.next()].map { (value: UInt64) in
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    private static func text(_ value: JSONValue) -> String {
        String(decoding: value.serialized(), as: UTF8.self)
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// Whole seconds.
    var seconds: Int64 {
        components.seconds
    }
}

import Logging
import RolloutCore

/// Publishes a deployment's SNS notifications through an outbox: the state machine marks an
/// event as decided in the snapshot (persisted first), this claims it, publishes it and then
/// records it as sent. After a crash, ``NativeRolloutEngine/recover()`` publishes what was decided but not recorded as sent, so
/// each (deployment, event) goes out once; the one window left (published, then killed before
/// the row was written) is closed on FIFO topics by the deduplication id and marked on standard
/// topics by the `rolloutd.dedup` attribute.
struct RolloutNotifier: Sendable {
    let publisher: (any NotificationPublisher)?
    let store: any RolloutRecordStore
    let now: @Sendable () -> Double
    let logger: Logger

    func publish(_ event: NotificationEvent, record: RolloutRecord) async {
        guard let topic = record.request.notifyTopicArn else { return }
        guard let publisher else {
            logger.warning("notifyTopicArn is set but SNS has no region configured; notification dropped")
            return
        }
        do {
            guard try await store.claimNotification(record.deploymentId, event: event) else { return }
            // One check-in between the awaits of this step (claim, publish, mark sent).
            await store.checkIn(record.deploymentId)
            let messageId = try await publisher.publish(
                topicArn: topic, subject: Self.subject(event, record), message: String(decoding: Self.message(event, record).serialized(), as: UTF8.self),
                deduplicationId: "\(record.deploymentId):\(event.rawValue)", groupId: record.deploymentId
            )
            await store.checkIn(record.deploymentId)
            try await store.markSent(record.deploymentId, event: event, messageId: messageId, at: now())
        } catch {
            logger.warning(
                "cannot publish the notification; it is retried at the next start",
                metadata: ["rollout.id": "\(record.deploymentId)", "event": "\(event.rawValue)", "error": "\(error)"]
            )
        }
    }

    static func subject(_ event: NotificationEvent, _ record: RolloutRecord) -> String {
        let text = "rolloutd \(event.rawValue) \(record.function):\(record.alias)"
        return String(text.prefix(100))
    }

    /// The JSON body: the deployment's identity, versions and outcome.
    static func message(_ event: NotificationEvent, _ record: RolloutRecord) -> JSONValue {
        var object: JSONObject = [
            "event": .string(event.rawValue),
            "deploymentId": .string(record.deploymentId),
            "engine": .string(record.engine.rawValue),
            "function": .string(record.function),
            "alias": .string(record.alias),
            "fromVersion": .string(record.fromVersion),
            "toVersion": .string(record.toVersion),
            "status": .string(record.status.rawValue),
        ]
        if let snapshot = record.snapshot {
            object["weight"] = .number(JSONNumber(snapshot.weight))
            object["rolledBack"] = .bool(snapshot.rolledBack)
            if let error = snapshot.error {
                object["error"] = .object(["code": .string(error.code.rawValue), "message": .string(error.message)])
            }
        }
        return .object(object)
    }
}

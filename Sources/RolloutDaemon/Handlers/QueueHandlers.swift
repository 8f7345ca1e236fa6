import RolloutCore
import RolloutRPC

extension Services {
    func registerQueue(into registry: inout MethodRegistry) {
        registry.register(QueueSend.self) { message, _ in
            let queue = try require(queue, "Queue")
            try Self.validate(message, field: "", queue: queue)
            return QueueSend.Result(messageId: try await health.track(.queue) { try await queue.send(message) })
        }
        registry.register(QueueSendBatch.self) { params, _ in
            let queue = try require(queue, "Queue")
            guard !params.messages.isEmpty else {
                throw RolloutError.invalidParams("param 'messages' must hold at least one message")
            }
            // Malformed entries fail the call; a message over the size limit fails only its entry.
            for (index, message) in params.messages.enumerated() {
                try Self.validate(message, field: "messages[\(index)].", queue: queue, checkSize: false)
            }
            let results = try await health.track(.queue) { try await queue.sendBatch(params.messages) }
            return QueueSendBatch.Result(outcomes: results)
        }
        registry.register(QueueReceive.self) { params, context in
            let queue = try require(queue, "Queue")
            let max = params.max ?? 1
            let wait = params.waitSeconds ?? 0
            let visibility = params.visibilitySeconds ?? queue.defaultVisibilitySeconds
            guard (1...10).contains(max) else { throw RolloutError.invalidParams("param 'max' must be between 1 and 10 (got \(max))") }
            guard (0...20).contains(wait) else { throw RolloutError.invalidParams("param 'waitSeconds' must be between 0 and 20 (got \(wait))") }
            guard (0...43_200).contains(visibility) else {
                throw RolloutError.invalidParams("param 'visibilitySeconds' must be between 0 and 43200 (got \(visibility))")
            }
            let messages = try await health.track(.queue) {
                try await queue.receive(max: max, waitSeconds: wait, visibilitySeconds: visibility)
            }
            if params.autoExtend == true, let leases, !messages.isEmpty {
                await leases.leased(messages.map(\.receipt), connectionID: context.connectionID, visibilitySeconds: Swift.max(visibility, 1))
            }
            return QueueReceive.Result(messages: messages)
        }
        registry.register(QueueAck.self) { params, _ in
            let queue = try require(queue, "Queue")
            leases?.settled(params.receipt)
            try await health.track(.queue) { try await queue.ack(receipt: params.receipt) }
            return EmptyResult()
        }
        registry.register(QueueAckBatch.self) { params, _ in
            let queue = try require(queue, "Queue")
            for receipt in params.receipts { leases?.settled(receipt) }
            let errors = try await health.track(.queue) { try await queue.ackBatch(receipts: params.receipts) }
            return QueueAckBatch.Result(results: zip(params.receipts, errors).map { receipt, error in
                QueueAckBatch.Entry(receipt: receipt, error: error.map(Outgoing.errorObject))
            })
        }
        registry.register(QueueNack.self) { params, _ in
            let queue = try require(queue, "Queue")
            let delay = params.delaySeconds ?? 0
            guard (0...43_200).contains(delay) else {
                throw RolloutError.invalidParams("param 'delaySeconds' must be between 0 and 43200 (got \(delay))")
            }
            leases?.settled(params.receipt)
            try await health.track(.queue) { try await queue.changeVisibility(receipt: params.receipt, seconds: delay) }
            return EmptyResult()
        }
        registry.register(QueueExtend.self) { params, _ in
            let queue = try require(queue, "Queue")
            guard (0...43_200).contains(params.visibilitySeconds) else {
                throw RolloutError.invalidParams("param 'visibilitySeconds' must be between 0 and 43200 (got \(params.visibilitySeconds))")
            }
            leases?.settled(params.receipt)
            try await health.track(.queue) {
                try await queue.changeVisibility(receipt: params.receipt, seconds: params.visibilitySeconds)
            }
            return EmptyResult()
        }
    }

    private static func validate(_ message: OutgoingMessage, field: String, queue: any MessageQueue, checkSize: Bool = true) throws(RolloutError) {
        if checkSize, message.body.utf8.count > queue.maxMessageBytes {
            throw RolloutError(
                .tooLarge, "param '\(field)body' is \(message.body.utf8.count) bytes; the queue accepts at most \(queue.maxMessageBytes)"
            )
        }
        if let delay = message.delaySeconds, !(0...900).contains(delay) {
            throw RolloutError.invalidParams("param '\(field)delaySeconds' must be between 0 and 900 (got \(delay))")
        }
        for (name, value) in [("groupId", message.groupId), ("deduplicationId", message.deduplicationId)] {
            if let value, !(1...128).contains(value.utf8.count) {
                throw RolloutError.invalidParams("param '\(field)\(name)' must be 1–128 characters")
            }
        }
    }
}

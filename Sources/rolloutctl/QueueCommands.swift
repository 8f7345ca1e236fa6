import ArgumentParser
import RolloutCore
import RolloutRPC

/// `rolloutctl queue send|receive|ack|nack` → `queue.*`.
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Send, receive, acknowledge and release queue messages (queue.*).",
        subcommands: [Send.self, Receive.self, Ack.self, Nack.self]
    )
}

extension QueueCommand {
    /// `queue send BODY [--attr k=v ...] [--delay S] [--group G] [--dedup D] [--idempotency-key K]`.
    struct Send: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a message (queue.send).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The message body.")
        var body: String

        @Option(help: ArgumentHelp("A message attribute; repeat for more.", valueName: "k=v"))
        var attr: [String] = []

        @Option(help: ArgumentHelp("Keep the message invisible for this many seconds.", valueName: "seconds"))
        var delay: Int?

        @Option(help: "Message group id (FIFO queues).")
        var group: String?

        @Option(help: "Deduplication id (FIFO queues).")
        var dedup: String?

        @Option(help: "Make a retry of this send return the first message id instead of sending again.")
        var idempotencyKey: String?

        func validate() throws {
            _ = try ArgumentValues.pairs(attr, option: "--attr")
        }

        func execute(in session: Session) async throws -> ExitStatus {
            var message = OutgoingMessage(body: body)
            if !attr.isEmpty { message.attributes = try ArgumentValues.pairs(attr, option: "--attr") }
            message.delaySeconds = delay
            message.groupId = group
            message.deduplicationId = dedup
            let result = try JSONValue(encoding: await session.call(QueueSend.self, message, idempotencyKey: idempotencyKey))
            session.console.emit(result) { HumanText.block(result.objectValue ?? [:]) }
            return .success
        }
    }

    /// `queue receive [--max N] [--wait S] [--visibility S]`.
    struct Receive: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Receive messages; each stays leased until acked, nacked or its visibility lapses (queue.receive).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Option(help: "At most this many messages (1–10).")
        var max: Int?

        @Option(help: ArgumentHelp("Wait up to this many seconds for a message (0–20).", valueName: "seconds"))
        var wait: Int?

        @Option(help: ArgumentHelp("Keep received messages invisible for this many seconds.", valueName: "seconds"))
        var visibility: Int?

        func execute(in session: Session) async throws -> ExitStatus {
            let params = QueueReceive.Params(max: max, waitSeconds: wait, visibilitySeconds: visibility)
            let result = try JSONValue(encoding: await session.call(QueueReceive.self, params))
            session.console.emit(result) {
                let messages = result["messages"]?.arrayValue ?? []
                guard !messages.isEmpty else { return "(no messages)" }
                var table = Table("MESSAGE ID", "RECEIVES", "SENT AT", "RECEIPT", "BODY").rightAligning(1)
                for message in messages {
                    table.append([
                        message["messageId"]?.stringValue ?? "", message["receiveCount"].map(HumanText.scalar) ?? "",
                        message["sentAt"]?.stringValue ?? "", message["receipt"]?.stringValue ?? "",
                        HumanText.truncated(HumanText.singleLine(message["body"]?.stringValue ?? ""), to: 60),
                    ])
                }
                return table.rendered(header: session.console.bold)
            }
            return .success
        }
    }

    /// `queue ack RECEIPT...`: one receipt → `queue.ack`, several → `queue.ackBatch`.
    struct Ack: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete received messages by receipt (queue.ack, queue.ackBatch).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "Receipts from queue receive.")
        var receipts: [String]

        func validate() throws {
            guard !receipts.isEmpty else { throw ValidationError("give at least one receipt") }
        }

        func execute(in session: Session) async throws -> ExitStatus {
            guard receipts.count > 1 else {
                let result = try JSONValue(encoding: await session.call(QueueAck.self, .init(receipt: receipts[0])))
                session.console.emit(result) { "acked \(receipts[0])" }
                return .success
            }
            let result = try JSONValue(encoding: await session.call(QueueAckBatch.self, .init(receipts: receipts)))
            let items = result["results"]?.arrayValue ?? []
            let failures = items.compactMap { item in item["error"].map { (item["receipt"]?.stringValue ?? "", $0) } }
            session.console.emit(result) {
                items.filter { $0["error"] == nil }.map { "acked \($0["receipt"]?.stringValue ?? "")" }.joined(separator: "\n")
            }
            var status = ExitStatus.success
            for (receipt, error) in failures {
                let code = ErrorCode(rawValue: Int(error["code"]?.int64Value ?? Int64(ErrorCode.internalError.rawValue)))
                session.console.note("rolloutctl: \(code.reason): \(receipt): \(error["message"]?.stringValue ?? "")")
                status = code.kind == .fatal || status == .fatal ? .fatal : .recoverable
            }
            return status
        }
    }

    /// `queue nack RECEIPT [--delay S]`.
    struct Nack: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a received message visible again (queue.nack).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The receipt from queue receive.")
        var receipt: String

        @Option(help: ArgumentHelp("Keep it invisible this many seconds more (default 0).", valueName: "seconds"))
        var delay: Int?

        func execute(in session: Session) async throws -> ExitStatus {
            let result = try JSONValue(encoding: await session.call(QueueNack.self, .init(receipt: receipt, delaySeconds: delay)))
            session.console.emit(result) { "released \(receipt)" }
            return .success
        }
    }
}

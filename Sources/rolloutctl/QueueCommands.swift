import ArgumentParser
import RolloutCore

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
            var params: JSONObject = ["body": .string(body)]
            if !attr.isEmpty { params["attributes"] = .object(try ArgumentValues.pairs(attr, option: "--attr")) }
            params["delaySeconds"] = delay.map(JSONValue.integer)
            params["groupId"] = group.map(JSONValue.string)
            params["deduplicationId"] = dedup.map(JSONValue.string)
            params["idempotencyKey"] = idempotencyKey.map(JSONValue.string)
            let result = try await session.call("queue.send", params)
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
            var params: JSONObject = [:]
            params["max"] = max.map(JSONValue.integer)
            params["waitSeconds"] = wait.map(JSONValue.integer)
            params["visibilitySeconds"] = visibility.map(JSONValue.integer)
            let result = try await session.call("queue.receive", params)
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
                let result = try await session.call("queue.ack", ["receipt": .string(receipts[0])])
                session.console.emit(result) { "acked \(receipts[0])" }
                return .success
            }
            let result = try await session.call("queue.ackBatch", ["receipts": .array(receipts.map(JSONValue.string))])
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
            var params: JSONObject = ["receipt": .string(receipt)]
            params["delaySeconds"] = delay.map(JSONValue.integer)
            let result = try await session.call("queue.nack", params)
            session.console.emit(result) { "released \(receipt)" }
            return .success
        }
    }
}

import AWSConfig
public import CurlHTTP
public import RolloutCore
import RolloutCrypto

/// Rollout notifications (SPEC §4.6): SNS `Publish` over the Query protocol (Version
/// 2010-03-31) through an ``AWSClient`` for the SNS endpoint.
///
/// - Every message carries the string attribute ``dedupAttribute`` = the deduplication id, so
///   subscribers can drop a notification repeated after a restart.
/// - On FIFO topics (ARN ending in `.fifo`) the group id becomes `MessageGroupId` and the
///   deduplication id `MessageDeduplicationId`. Both allow 1–128 ASCII letters, digits and
///   punctuation; an id that is longer or has other characters is sent as the lowercase hex
///   SHA-256 of its UTF-8 (64 characters), which is as stable as the id itself.
/// - The subject is made acceptable to SNS: control characters and line breaks become spaces,
///   and it is cut to ``maxSubjectLength`` characters (SNS wants fewer than 100). A subject
///   that ends up empty is left out.
public struct SNSPublisher: NotificationPublisher {
    /// The API version sent with every call.
    static let version = "2010-03-31"
    /// The message attribute that carries the deduplication id.
    public static let dedupAttribute = "rolloutd.dedup"
    /// The longest subject sent.
    public static let maxSubjectLength = 99
    /// The longest `MessageDeduplicationId` / `MessageGroupId` SNS accepts.
    public static let maxFIFOIdLength = 128

    private let client: AWSClient
    private let timeouts: HTTPTimeouts

    /// Publishes through `client` (an SNS client); `timeouts` apply per attempt.
    public init(
        client: AWSClient,
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(30), stall: .seconds(15))
    ) {
        self.client = client
        self.timeouts = timeouts
    }

    /// `Publish`; returns the SNS `MessageId`. InvalidParams for an empty topic ARN, message,
    /// deduplication id or (FIFO topics) group id.
    public func publish(
        topicArn: String, subject: String, message: String, deduplicationId: String, groupId: String
    ) async throws(RolloutError) -> String {
        guard !topicArn.isEmpty else { throw .invalidParams("notifyTopicArn must be an SNS topic ARN") }
        guard !message.isEmpty else { throw .invalidParams("an SNS message must not be empty") }
        guard !deduplicationId.isEmpty else { throw .invalidParams("the notification deduplication id must not be empty") }
        var params: [(name: String, value: String)] = [
            (name: "TopicArn", value: topicArn),
            (name: "Message", value: message),
        ]
        let subject = Self.sanitizedSubject(subject)
        if !subject.isEmpty { params.append((name: "Subject", value: subject)) }
        params += [
            (name: "MessageAttributes.entry.1.Name", value: Self.dedupAttribute),
            (name: "MessageAttributes.entry.1.Value.DataType", value: "String"),
            (name: "MessageAttributes.entry.1.Value.StringValue", value: deduplicationId),
        ]
        if Self.isFIFO(topicArn) {
            guard !groupId.isEmpty else { throw .invalidParams("a FIFO topic needs a non-empty message group id") }
            params += [
                (name: "MessageGroupId", value: Self.fifoId(groupId)),
                (name: "MessageDeduplicationId", value: Self.fifoId(deduplicationId)),
            ]
        }
        let root = try await client.queryCallXML(action: "Publish", version: Self.version, params: params, timeouts: timeouts)
        guard let messageId = root.firstDescendant("MessageId")?.text, !messageId.isEmpty else {
            throw RolloutError(
                .unavailable, "SNS Publish returned a response without MessageId",
                data: ["upstream": .object(["service": .string(client.service.explainKey)])]
            )
        }
        return messageId
    }

    /// Whether `topicArn` names a FIFO topic.
    static func isFIFO(_ topicArn: String) -> Bool {
        topicArn.hasSuffix(".fifo")
    }

    /// `id` when SNS takes it as a FIFO id (1–128 characters from `!`…`~`), otherwise the hex
    /// SHA-256 of its UTF-8.
    static func fifoId(_ id: String) -> String {
        let acceptable = id.utf8.count <= maxFIFOIdLength && id.utf8.allSatisfy { (0x21...0x7E).contains($0) }
        return acceptable ? id : Digest.sha256(id).hexString
    }

    /// `subject` without control characters (each becomes a space), trimmed, at most
    /// ``maxSubjectLength`` characters.
    static func sanitizedSubject(_ subject: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in subject.unicodeScalars {
            let isControl = scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
                || scalar == "\u{2028}" || scalar == "\u{2029}"
            out.append(isControl ? " " : scalar)
        }
        let text = String(out).trimmingSpaces
        return text.count <= maxSubjectLength ? text : String(text.prefix(maxSubjectLength)).trimmingSpaces
    }
}

extension String {
    /// Without leading and trailing spaces.
    fileprivate var trimmingSpaces: String {
        guard let first = firstIndex(where: { $0 != " " }), let last = lastIndex(where: { $0 != " " }) else { return "" }
        return String(self[first...last])
    }
}

import Metrics
import RolloutCore

/// What one ``AWSClient/send(_:sink:timeouts:progress:)`` call adds to the metrics (SPEC §6.1):
/// the call by service, operation and final status, and how many of its attempts were retried.
/// AWS calls take milliseconds, so the counters are looked up per call.
struct AWSCallMetrics {
    let service: String
    let operation: String
    /// The final HTTP status; `transport` when no response came back, `cancelled`, or `error`
    /// when the call failed before sending (no credentials, say).
    var status = "error"
    var retries = 0

    func record() {
        Counter(label: MetricName.awsCalls, dimensions: [("service", service), ("operation", operation), ("status", status)])
            .increment()
        guard retries > 0 else { return }
        Counter(label: MetricName.awsRetries, dimensions: [("service", service), ("operation", operation)])
            .increment(by: retries)
    }
}

import Metrics
import RolloutCore
import Synchronization

/// The request metrics of SPEC §6.1: requests by method and outcome, duration by method, and
/// idempotency replays.
///
/// The metric objects of every registered method are made once, up front, so answering a request
/// allocates no label arrays and takes no lock; only a failure looks its counter up (under a
/// lock, made once per method and reason). Methods that are not registered count as `other`,
/// so a client cannot grow the label set. Without a bootstrapped metrics backend the objects are
/// swift-metrics' no-op handlers.
struct RequestMetrics: Sendable {
    private struct PerMethod: Sendable {
        let label: String
        let ok: Counter
        let duration: Timer
        let replays: Counter

        init(_ label: String) {
            self.label = label
            ok = Counter(label: MetricName.rpcRequests, dimensions: [("method", label), ("outcome", "ok")])
            duration = Timer(label: MetricName.rpcRequestDuration, dimensions: [("method", label)])
            replays = Counter(label: MetricName.idempotencyReplays, dimensions: [("method", label)])
        }
    }

    /// Failure counters by method and reason, made on first use.
    private final class Failures: Sendable {
        struct Key: Hashable {
            var method: String
            var reason: String
        }

        private let counters = Mutex<[Key: Counter]>([:])

        func counter(method: String, reason: String) -> Counter {
            let key = Key(method: method, reason: reason)
            return counters.withLock { counters in
                if let counter = counters[key] { return counter }
                let counter = Counter(label: MetricName.rpcRequests, dimensions: [("method", method), ("outcome", reason)])
                counters[key] = counter
                return counter
            }
        }
    }

    /// The label of requests for methods that are not registered.
    static let otherMethod = "other"

    private let methods: [String: PerMethod]
    private let other = PerMethod(RequestMetrics.otherMethod)
    private let failures = Failures()

    init(methodNames: [String]) {
        var methods: [String: PerMethod] = [:]
        for name in methodNames { methods[name] = PerMethod(name) }
        self.methods = methods
    }

    private func metrics(_ method: String) -> PerMethod {
        methods[method] ?? other
    }

    /// Counts one answered request and records how long it took.
    func record(method: String, outcome: Result<JSONValue, RolloutError>, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let metrics = self.metrics(method)
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        metrics.duration.recordNanoseconds(nanoseconds)
        switch outcome {
        case .success: metrics.ok.increment()
        case .failure(let error): failures.counter(method: metrics.label, reason: error.code.reason).increment()
        }
    }

    /// Counts a request answered from its idempotency record.
    func replayed(method: String) {
        metrics(method).replays.increment()
    }
}

import CoreMetrics
public import Prometheus
import RolloutCore

/// The Prometheus side of the daemon's metrics: bootstraps swift-metrics with
/// swift-prometheus's factory and renders the registry in the text exposition format.
///
/// Only the daemon with `[server.http] listen` bootstraps it; without the listener swift-metrics
/// keeps its no-op handlers, so recording a metric costs next to nothing.
public struct MetricsExporter: Sendable {
    /// The registry every metric of the process lands in.
    public let registry: PrometheusCollectorRegistry

    /// Request durations span microseconds (`sys.ping`) to minutes (long polls).
    static let requestDurationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60),
    ]

    private init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Bootstraps the process-wide `MetricsSystem` with a fresh Prometheus registry. Call once,
    /// before any metric is created (swift-metrics allows one bootstrap per process).
    public static func bootstrap() -> MetricsExporter {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[MetricName.rpcRequestDuration] = requestDurationBuckets
        MetricsSystem.bootstrap(factory)
        return MetricsExporter(registry: registry)
    }

    /// An exporter over `registry` that leaves `MetricsSystem` alone (for tests).
    public static func unbootstrapped(registry: PrometheusCollectorRegistry) -> MetricsExporter {
        MetricsExporter(registry: registry)
    }

    /// The text exposition of every metric (`text/plain; version=0.0.4`).
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 << 10)
        registry.emit(into: &buffer)
        return buffer
    }
}

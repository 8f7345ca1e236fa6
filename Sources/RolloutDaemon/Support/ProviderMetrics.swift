import Metrics
import RolloutCore

/// The provider-level counters of SPEC §6.1 that the handlers see for every provider alike:
/// object bytes moved and secret cache use. Made on first use, which is after the metrics
/// system was bootstrapped at startup.
enum ProviderMetrics {
    static let bytesUploaded = Counter(label: MetricName.objectBytesUploaded)
    static let bytesDownloaded = Counter(label: MetricName.objectBytesDownloaded)
    static let secretCacheHits = Counter(label: MetricName.secretCacheHits)
    static let secretCacheMisses = Counter(label: MetricName.secretCacheMisses)

    /// Counts a `secret.get` answer: from the cache (also a stale value served after an upstream
    /// failure) or fetched. The local provider has no cache, so each of its reads is a miss.
    static func secretServed(_ value: SecretValue) {
        (value.cached ? secretCacheHits : secretCacheMisses).increment()
    }
}

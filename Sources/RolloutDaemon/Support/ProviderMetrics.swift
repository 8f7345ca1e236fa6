import Metrics
import RolloutCore

/// The provider-level counters of SPEC §6.1 that the handlers see for every provider alike:
/// object bytes moved and secret cache use. Made on first use, which is after the metrics
/// system was bootstrapped at startup.
enum ProviderMetrics {
    private static let bytesUploaded = Counter(label: MetricName.objectBytesUploaded)
    private static let bytesDownloaded = Counter(label: MetricName.objectBytesDownloaded)
    private static let secretCacheHits = Counter(label: MetricName.secretCacheHits)
    private static let secretCacheMisses = Counter(label: MetricName.secretCacheMisses)

    /// Counts the bytes `object.put` stored.
    static func uploaded(_ bytes: Int64) {
        bytesUploaded.increment(by: bytes)
    }

    /// Counts the bytes `object.get` returned.
    static func downloaded(_ bytes: Int64) {
        bytesDownloaded.increment(by: bytes)
    }

    /// Counts a `secret.get` answer: from the cache (also a stale value served after an upstream
    /// failure) or fetched. The local provider has no cache, so each of its reads is a miss.
    static func secretServed(_ value: SecretValue) {
        (value.cached ? secretCacheHits : secretCacheMisses).increment()
    }
}

import Glibc

/// Round-trip times of sequential `sys.ping` requests on one connection.
struct LatencyResult {
    var requests: Int
    var p50Micros: Double
    var p99Micros: Double
    var p999Micros: Double
    /// Responses without `"result"`, plus any extra lines that arrived unasked.
    var errors: Int
}

/// One connection; `warmup` untimed requests, then `requests` timed ones, each sent only after the
/// previous response arrived. Times are taken with `CLOCK_MONOTONIC` around write + read.
func measureLatency(socketPath: String, warmup: Int, requests: Int) throws -> LatencyResult {
    let connection = try Connection.connect(path: socketPath)
    var samples = [UInt64](repeating: 0, count: requests)
    var request: [UInt8] = []
    request.reserveCapacity(128)
    var errors = 0
    for index in 0..<(warmup + requests) {
        request.removeAll(keepingCapacity: true)
        PingRequest.append(id: UInt64(index + 1), to: &request)
        let start = monotonicNanos()
        try connection.send(request)
        var received = 0
        repeat {
            let (lines, bad) = try connection.readLines()
            received += lines
            errors += bad
        } while received == 0
        let elapsed = monotonicNanos() - start
        errors += received - 1
        if index >= warmup { samples[index - warmup] = elapsed }
    }
    samples.sort()
    return LatencyResult(
        requests: requests,
        p50Micros: percentile(samples, 0.50),
        p99Micros: percentile(samples, 0.99),
        p999Micros: percentile(samples, 0.999),
        errors: errors
    )
}

/// Nearest-rank percentile of sorted nanosecond samples, in microseconds.
func percentile(_ sorted: [UInt64], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((fraction * Double(sorted.count)).rounded(.up))
    return Double(sorted[min(max(rank, 1), sorted.count) - 1]) / 1000
}

import Glibc

/// Round-trip times of sequential requests (`sys.ping`, or a cached `secret.get`) on one connection.
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
func measureLatency(
    socketPath: String, warmup: Int, requests: Int, template: RequestTemplate = .ping
) throws -> LatencyResult {
    let sampler = try LatencySampler(socketPath: socketPath, template: template, capacity: requests)
    try sampler.run(warmup, timed: false)
    try sampler.run(requests, timed: true)
    return sampler.result()
}

/// Several request kinds on one server, each on its own connection, measured in alternating
/// blocks (all warm-ups first, then `blocks` rounds of `requests / blocks` of each kind), so that
/// drift over the run (CPU frequency, other load) affects every kind alike.
func measureInterleavedLatency(
    socketPath: String, templates: [RequestTemplate], warmup: Int, requests: Int, blocks: Int = 10
) throws -> [LatencyResult] {
    try measureInterleavedLatency(
        targets: templates.map { (socketPath, $0) }, warmup: warmup, requests: requests, blocks: blocks)
}

/// The same over (server, request kind) pairs, which may be on different servers: compares two
/// daemons under the same drift.
func measureInterleavedLatency(
    targets: [(socketPath: String, template: RequestTemplate)], warmup: Int, requests: Int, blocks: Int = 10
) throws -> [LatencyResult] {
    let samplers = try targets.map {
        try LatencySampler(socketPath: $0.socketPath, template: $0.template, capacity: requests)
    }
    for sampler in samplers { try sampler.run(warmup, timed: false) }
    for block in 0..<blocks {
        let count = requests / blocks + (block < requests % blocks ? 1 : 0)
        for sampler in samplers { try sampler.run(count, timed: true) }
    }
    return samplers.map { $0.result() }
}

/// Sequential requests of one kind on one connection, with the timed round trips kept.
final class LatencySampler {
    private let connection: Connection
    private let template: RequestTemplate
    private var samples: [UInt64] = []
    private var request: [UInt8] = []
    private var nextID: UInt64 = 1
    private var errors = 0

    init(socketPath: String, template: RequestTemplate, capacity: Int) throws {
        connection = try Connection.connect(path: socketPath)
        self.template = template
        samples.reserveCapacity(capacity)
        request.reserveCapacity(128)
    }

    /// `count` requests, each sent after the previous response; their times are kept when `timed`.
    func run(_ count: Int, timed: Bool) throws {
        for _ in 0..<count {
            request.removeAll(keepingCapacity: true)
            template.append(id: nextID, to: &request)
            nextID += 1
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
            if timed { samples.append(elapsed) }
        }
    }

    func result() -> LatencyResult {
        let sorted = samples.sorted()
        return LatencyResult(
            requests: sorted.count,
            p50Micros: percentile(sorted, 0.50),
            p99Micros: percentile(sorted, 0.99),
            p999Micros: percentile(sorted, 0.999),
            errors: errors
        )
    }
}

/// Nearest-rank percentile of sorted nanosecond samples, in microseconds.
func percentile(_ sorted: [UInt64], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((fraction * Double(sorted.count)).rounded(.up))
    return Double(sorted[min(max(rank, 1), sorted.count) - 1]) / 1000
}

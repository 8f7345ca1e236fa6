import Glibc

/// Pipelined `sys.ping` throughput over several connections.
struct ThroughputResult {
    var connections: Int
    var window: Int
    var seconds: Double
    /// Responses received during the measured interval, over all connections.
    var responses: Int
    var errors: Int

    var requestsPerSecond: Double { Double(responses) / seconds }
}

/// One connection driven by one thread: keeps `window` requests in flight (write a batch, read
/// what has arrived, send as many new requests as responses came back) until `measureEnd`, then
/// reads the responses still in flight. Responses read in `[warmEnd, measureEnd)` are counted.
///
/// Thread handoff: the main thread builds a worker, hands it to exactly one new thread and does not
/// touch it again until `pthread_join` has returned for that thread, which orders the worker's
/// writes before the main thread's reads. So the class needs no locks and no `Sendable` conformance.
final class PipelineWorker {
    private let connection: Connection
    private let window: Int
    private let warmEnd: UInt64
    private let measureEnd: UInt64
    private(set) var measured = 0
    private(set) var errors = 0
    private(set) var failure: BenchError?

    init(connection: Connection, window: Int, warmEnd: UInt64, measureEnd: UInt64) {
        self.connection = connection
        self.window = window
        self.warmEnd = warmEnd
        self.measureEnd = measureEnd
    }

    func run() {
        do {
            try drive()
        } catch let error as BenchError {
            failure = error
        } catch {
            failure = BenchError("\(error)")
        }
    }

    private func drive() throws {
        var batch: [UInt8] = []
        batch.reserveCapacity(window * 64)
        var nextID: UInt64 = 1
        for _ in 0..<window {
            RequestTemplate.ping.append(id: nextID, to: &batch)
            nextID += 1
        }
        try connection.send(batch)
        var inFlight = window

        while true {
            let (lines, bad) = try connection.readLines()
            let now = monotonicNanos()
            inFlight -= lines
            errors += bad
            if now >= measureEnd { break }
            if now >= warmEnd { measured += lines }
            if lines == 0 { continue }
            batch.removeAll(keepingCapacity: true)
            for _ in 0..<lines {
                RequestTemplate.ping.append(id: nextID, to: &batch)
                nextID += 1
            }
            try connection.send(batch)
            inFlight += lines
        }
        // Collect what is still in flight so every request is answered before the connection closes.
        while inFlight > 0 {
            let (lines, bad) = try connection.readLines()
            inFlight -= lines
            errors += bad
        }
        if inFlight < 0 { errors -= inFlight }  // more responses than requests
    }
}

/// The C entry point of a worker thread; `argument` is an unretained `PipelineWorker`.
private func pipelineThreadMain(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    Unmanaged<PipelineWorker>.fromOpaque(argument!).takeUnretainedValue().run()
    return nil
}

/// `connections` connections, each on its own thread with `window` requests in flight, for
/// `warmupSeconds` (not counted) and then `seconds` (counted).
func measureThroughput(
    socketPath: String, connections: Int, window: Int, warmupSeconds: Double, seconds: Double
) throws -> ThroughputResult {
    let sockets = try (0..<connections).map { _ in try Connection.connect(path: socketPath) }
    let warmEnd = monotonicNanos() + UInt64(warmupSeconds * 1e9)
    let measureEnd = warmEnd + UInt64(seconds * 1e9)
    let workers = sockets.map { PipelineWorker(connection: $0, window: window, warmEnd: warmEnd, measureEnd: measureEnd) }

    var threads: [pthread_t] = []
    var startFailure: BenchError?
    for worker in workers {
        var thread = pthread_t()
        // `workers` keeps every worker alive until after the joins below.
        let code = pthread_create(&thread, nil, pipelineThreadMain, Unmanaged.passUnretained(worker).toOpaque())
        if code != 0 {
            startFailure = BenchError.system("pthread_create", code)
            break
        }
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
    if let startFailure { throw startFailure }
    if let failure = workers.lazy.compactMap(\.failure).first { throw failure }

    return ThroughputResult(
        connections: connections,
        window: window,
        seconds: seconds,
        responses: workers.reduce(0) { $0 + $1.measured },
        errors: workers.reduce(0) { $0 + $1.errors }
    )
}

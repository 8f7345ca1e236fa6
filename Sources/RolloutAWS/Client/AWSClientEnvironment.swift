import RolloutSystem

/// What ``AWSClient`` takes from the outside world besides the network: the wall clock it
/// signs with, how it sleeps between attempts and where its jitter comes from. Tests replace
/// them to run retries without waiting.
public struct AWSClientEnvironment: Sendable {
    /// Now, in seconds since the Unix epoch (the SigV4 signing time).
    public var wallClock: @Sendable () -> Double
    /// Sleeps `duration`; throws when the calling task is cancelled.
    public var sleep: @Sendable (Duration) async throws -> Void
    /// A uniform random value in `0...1` for full-jitter backoff.
    public var jitter: @Sendable () -> Double

    /// An environment from its parts.
    public init(
        wallClock: @escaping @Sendable () -> Double,
        sleep: @escaping @Sendable (Duration) async throws -> Void,
        jitter: @escaping @Sendable () -> Double
    ) {
        self.wallClock = wallClock
        self.sleep = sleep
        self.jitter = jitter
    }

    /// The real clock, `Task.sleep` and the system random generator.
    public static let live = AWSClientEnvironment(
        wallClock: { WallClock.seconds() },
        sleep: { duration in
            if duration > .zero {
                try await Task.sleep(for: duration)
            } else {
                try Task.checkCancellation()
            }
        },
        jitter: { Double.random(in: 0...1) }
    )
}

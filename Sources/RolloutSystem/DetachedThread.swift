import Glibc

/// A POSIX thread of its own, outside Swift's cooperative pool and libdispatch: for work that
/// must run even when every other thread is stuck (the shutdown watchdog).
public enum DetachedThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts a detached thread running `body`.
    public static func start(_ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(&thread, nil, { context in
            // pthread_create passes the argument it was given, never nil.
            guard let context else { return nil }
            Unmanaged<Box>.fromOpaque(context).takeRetainedValue().body()
            return nil
        }, context)
        guard code == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw SystemError("start a thread", "pthread_create", code: code)
        }
        pthread_detach(thread)
    }

    /// Blocks the calling thread for `duration` (resuming after signals).
    public static func sleep(for duration: Duration) {
        let parts = duration.components
        var remaining = timespec(tv_sec: Int(parts.seconds), tv_nsec: Int(parts.attoseconds / 1_000_000_000))
        var left = timespec()
        while nanosleep(&remaining, &left) == -1 && errno == EINTR { remaining = left }
    }
}

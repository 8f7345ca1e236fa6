/// Runs `operation` in a task of its own and waits for it for at most `limit`, or until the
/// calling task is cancelled; then `operation` is cancelled and left to end on its own.
///
/// For shutdown steps (releasing leases, stopping rollout loops) that must not hold the exit
/// past `shutdown_grace_secs` + 2 s when something they call ignores cancellation.
func awaitAtMost(_ limit: Duration, _ operation: @escaping @Sendable () async -> Void) async {
    let finished = Doorbell()
    let task = Task {
        await operation()
        finished.ring()
    }
    await finished.wait(upTo: limit)
    task.cancel()
}

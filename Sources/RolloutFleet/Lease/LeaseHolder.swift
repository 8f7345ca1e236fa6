/// The owner's side of one lease, as a pure state machine: when to renew, and until when the
/// owner may still act on the deployment. No I/O and no clock: every input carries the local
/// monotonic time (`now`, any fixed origin), and the executor runs the actions it returns.
///
/// Safety rests on one inequality. An observer adopts only after it has seen the same RVN for
/// a whole lease on its own monotonic clock, and it can only see an RVN after the write that
/// stored it, which was sent after the owner started the call. So no one can adopt before
/// `sentAt + duration` (with clock *rates* that agree). The owner stops acting at
/// `sentAt + duration - margin`, where `sentAt` is when the last confirmed write was started:
/// a renewal that fails, hangs or is lost leaves it acting only until then — before the lease
/// could pass to another node. The margin absorbs rate drift and the time between the last
/// ``canAct(at:)`` check and the side effect it guards (which carries its own fence as well:
/// the alias `RevisionId`).
///
/// A lease is renewed for a deployment that is being driven, not for a process that is alive:
/// with a `stallLimit`, the driver (the deployment's run loop) must check in
/// (``driverCheckedIn(at:)``) at every step and while it waits; a driver silent for longer
/// than the limit is stuck (an await that never returns), and the holder stops renewing
/// (``StopReason/stalled``) so that the lease expires and another node adopts.
public struct LeaseHolder: Sendable {
    /// What the executor does next.
    public enum Action: Sendable, Hashable {
        /// Nothing until `at`; then call ``next(at:)`` again.
        case wait(until: Duration)
        /// Send a renewal (conditional on owner and epoch), then report it with
        /// ``renewalSucceeded(_:sentAt:)`` or ``renewalFailed(lost:at:)``.
        case renew
        /// Stop driving the deployment: change nothing more. Final.
        case stop(StopReason)
    }

    /// Why the owner stopped.
    public enum StopReason: Sendable, Hashable {
        /// A conditional write found another owner or a newer epoch.
        case superseded
        /// No renewal was confirmed in time; the lease may pass to another node.
        case unconfirmed
        /// The owner let go (the deployment finished, or the daemon is shutting down).
        case released
        /// The driver has not checked in for longer than the stall limit: it is stuck, so the
        /// lease is left to expire and another node adopts the deployment.
        case stalled
    }

    private enum State: Sendable, Hashable {
        case holding
        case renewing(since: Duration)
        case stopped(StopReason)
    }

    /// The lease as last written by this owner.
    public private(set) var lease: FleetLease
    /// The owner may act before this instant.
    public private(set) var actUntil: Duration
    private var lastConfirmedSentAt: Duration
    private var nextRenewalAt: Duration
    private var state: State
    /// How long the driver may stay silent; nil: its liveness is not watched.
    public let stallLimit: Duration?
    private var lastCheckIn: Duration

    /// Renew every duration / 3 (SPEC §11).
    public var renewInterval: Duration { lease.duration / 3 }

    /// The part of the lease the owner gives up to be safe: a fifth of it, at least a second
    /// (a 5 s lease: acting stops 4 s after the start of the last confirmed write, while
    /// renewals run every 1.7 s).
    public var margin: Duration { max(.seconds(1), lease.duration / 5) }

    /// A holder of `lease`, which a write started at `sentAt` (the claim or the adoption)
    /// stored. `stallLimit`: how long the driver may go without checking in before the lease is
    /// given up (nil: renew whatever the driver does).
    public init(lease: FleetLease, sentAt: Duration, stallLimit: Duration? = nil) {
        self.lease = lease
        self.stallLimit = stallLimit
        self.lastCheckIn = sentAt
        self.lastConfirmedSentAt = sentAt
        self.actUntil = sentAt
        self.nextRenewalAt = sentAt
        self.state = .holding
        self.actUntil = sentAt + lease.duration - margin
        self.nextRenewalAt = sentAt + renewInterval
    }

    /// Whether the owner may apply a side effect now. Check right before each one.
    public func canAct(at now: Duration) -> Bool {
        switch state {
        case .holding, .renewing: now < actUntil
        case .stopped: false
        }
    }

    /// Whether the holder has stopped, and why.
    public var stopReason: StopReason? {
        if case .stopped(let reason) = state { return reason }
        return nil
    }

    /// What to do at `now`.
    public mutating func next(at now: Duration) -> Action {
        switch state {
        case .stopped(let reason):
            return .stop(reason)
        case .holding, .renewing:
            if now >= actUntil {
                state = .stopped(.unconfirmed)
                return .stop(.unconfirmed)
            }
            if let stallLimit, now - lastCheckIn > stallLimit {
                state = .stopped(.stalled)
                return .stop(.stalled)
            }
        }
        if case .renewing = state { return .wait(until: actUntil) }
        guard now >= nextRenewalAt else { return .wait(until: nextRenewalAt) }
        state = .renewing(since: now)
        return .renew
    }

    /// The driver showed it is alive at `now` (it took a step, or it is waiting for its next
    /// one and answered).
    public mutating func driverCheckedIn(at now: Duration) {
        lastCheckIn = max(lastCheckIn, now)
    }

    /// A renewal started at `sentAt` was written: `lease` is the new lease (fresh RVN).
    public mutating func renewalSucceeded(_ lease: FleetLease, sentAt: Duration) {
        guard case .renewing = state, lease.epoch == self.lease.epoch, lease.owner == self.lease.owner else { return }
        self.lease = lease
        lastConfirmedSentAt = max(lastConfirmedSentAt, sentAt)
        actUntil = lastConfirmedSentAt + lease.duration - margin
        nextRenewalAt = lastConfirmedSentAt + renewInterval
        state = .holding
    }

    /// A renewal failed. `lost`: its condition failed (another owner or epoch), so stop now;
    /// otherwise (throttled, unreachable) keep acting until ``actUntil`` and renew again at
    /// the next ``next(at:)``.
    public mutating func renewalFailed(lost: Bool, at now: Duration) {
        if case .stopped = state { return }
        if lost {
            state = .stopped(.superseded)
            return
        }
        state = now >= actUntil ? .stopped(.unconfirmed) : .holding
        // Retry soon, not a whole interval later: the lease is running out.
        nextRenewalAt = now + min(.seconds(1), renewInterval)
    }

    /// A fence (a conditional write right before a side effect, which is a renewal) started at
    /// `sentAt` was written: it extends the window like a renewal, whether or not a scheduled
    /// renewal is under way (that one's outcome still counts when it arrives).
    public mutating func fenceSucceeded(_ lease: FleetLease, sentAt: Duration) {
        if case .stopped = state { return }
        guard lease.epoch == self.lease.epoch, lease.owner == self.lease.owner else { return }
        self.lease = lease
        lastConfirmedSentAt = max(lastConfirmedSentAt, sentAt)
        actUntil = lastConfirmedSentAt + lease.duration - margin
        nextRenewalAt = lastConfirmedSentAt + renewInterval
    }

    /// A fence (a conditional write right before a side effect) failed: the same as a lost
    /// renewal.
    public mutating func fenceFailed() {
        if case .stopped = state { return }
        state = .stopped(.superseded)
    }

    /// The owner lets go of the lease.
    public mutating func release() {
        if case .stopped = state { return }
        state = .stopped(.released)
    }
}

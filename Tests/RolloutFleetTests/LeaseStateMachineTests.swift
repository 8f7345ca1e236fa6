import RolloutTestSupport
import Testing
@testable import RolloutFleet

/// The lease decisions alone: no I/O, no clock. Time is a `Duration` since an arbitrary origin,
/// a node's monotonic clock.
@Suite("Lease state machines")
struct LeaseStateMachineTests {
    static func lease(
        owner: String = "a", epoch: Int64 = 1, rvn: String = "r1", seconds: Int64 = 15, expiresAtMs: Int64 = 0
    ) -> FleetLease {
        FleetLease(
            deploymentId: "d-1", functionName: "fn", alias: "live", owner: owner, epoch: epoch, rvn: rvn,
            duration: .seconds(seconds), expiresAtMs: expiresAtMs
        )
    }

    @Test func theOwnerRenewsEveryThirdOfTheLease() {
        var holder = LeaseHolder(lease: Self.lease(), sentAt: .zero)
        #expect(holder.next(at: .seconds(1)) == .wait(until: .seconds(5)))
        #expect(holder.next(at: .seconds(5)) == .renew)
        // While the renewal is in flight, nothing more is sent.
        #expect(holder.next(at: .seconds(6)) == .wait(until: holder.actUntil))
        holder.renewalSucceeded(Self.lease(rvn: "r2"), sentAt: .seconds(5))
        #expect(holder.lease.rvn == "r2")
        #expect(holder.actUntil == .seconds(5 + 15 - 3))
        #expect(holder.next(at: .seconds(6)) == .wait(until: .seconds(10)))
        #expect(holder.canAct(at: .milliseconds(16_999)))
        #expect(!holder.canAct(at: .seconds(17)))
    }

    @Test func aFenceExtendsTheWindowLikeARenewal() {
        var holder = LeaseHolder(lease: Self.lease(), sentAt: .zero)
        holder.fenceSucceeded(Self.lease(rvn: "r2"), sentAt: .seconds(3))
        #expect(holder.lease.rvn == "r2")
        #expect(holder.actUntil == .seconds(3 + 15 - 3))
        #expect(holder.next(at: .seconds(4)) == .wait(until: .seconds(8)))
        // A fence of another epoch (adopted meanwhile) extends nothing.
        holder.fenceSucceeded(Self.lease(epoch: 2, rvn: "r3"), sentAt: .seconds(6))
        #expect(holder.actUntil == .seconds(15))
        holder.fenceFailed()
        holder.fenceSucceeded(Self.lease(rvn: "r4"), sentAt: .seconds(7))
        #expect(!holder.canAct(at: .seconds(7)))
    }

    @Test func theMarginIsAFifthOfTheLeaseAndAtLeastASecond() {
        #expect(LeaseHolder(lease: Self.lease(seconds: 5), sentAt: .zero).margin == .seconds(1))
        #expect(LeaseHolder(lease: Self.lease(seconds: 15), sentAt: .zero).margin == .seconds(3))
        #expect(LeaseHolder(lease: Self.lease(seconds: 300), sentAt: .zero).margin == .seconds(60))
    }

    @Test func aLostRenewalStopsAtOnce() {
        var holder = LeaseHolder(lease: Self.lease(), sentAt: .zero)
        #expect(holder.next(at: .seconds(5)) == .renew)
        holder.renewalFailed(lost: true, at: .seconds(5))
        #expect(!holder.canAct(at: .seconds(5)))
        #expect(holder.next(at: .seconds(5)) == .stop(.superseded))
    }

    @Test func aDriverThatStopsCheckingInIsNotRenewed() {
        var holder = LeaseHolder(lease: Self.lease(), sentAt: .zero, stallLimit: .seconds(20))
        // A driver that checks in keeps its lease past the stall limit.
        for second in stride(from: Int64(5), through: 30, by: 5) {
            holder.driverCheckedIn(at: .seconds(second - 1))
            #expect(holder.next(at: .seconds(second)) == .renew)
            holder.renewalSucceeded(Self.lease(rvn: "r\(second)"), sentAt: .seconds(second))
        }
        // Silent from 29 s on: renewed until 49 s, then given up although every renewal succeeded.
        #expect(holder.next(at: .seconds(35)) == .renew)
        holder.renewalSucceeded(Self.lease(rvn: "r35"), sentAt: .seconds(35))
        #expect(holder.next(at: .seconds(40)) == .renew)
        holder.renewalSucceeded(Self.lease(rvn: "r40"), sentAt: .seconds(40))
        #expect(holder.next(at: .seconds(45)) == .renew)
        holder.renewalSucceeded(Self.lease(rvn: "r45"), sentAt: .seconds(45))
        #expect(holder.next(at: .milliseconds(49_001)) == .stop(.stalled))
        #expect(holder.next(at: .seconds(50)) == .stop(.stalled))
        #expect(!holder.canAct(at: .seconds(50)))
        // Without a stall limit the driver's silence changes nothing.
        var unwatched = LeaseHolder(lease: Self.lease(), sentAt: .zero)
        #expect(unwatched.next(at: .seconds(5)) == .renew)
        unwatched.renewalSucceeded(Self.lease(rvn: "r2"), sentAt: .seconds(5))
        #expect(unwatched.next(at: .seconds(10)) == .renew)
    }

    @Test func aFailedFenceStopsAtOnce() {
        var holder = LeaseHolder(lease: Self.lease(), sentAt: .zero)
        holder.fenceFailed()
        #expect(!holder.canAct(at: .seconds(1)))
        #expect(holder.stopReason == .superseded)
    }

    /// Renewals fail without an answer (DynamoDB unreachable): the owner keeps acting only
    /// until the lease, counted from the start of its last confirmed write, minus the margin,
    /// and retries renewals quickly meanwhile.
    @Test func failingRenewalsStopActingBeforeTheLeaseCouldPass() {
        var holder = LeaseHolder(lease: Self.lease(), sentAt: .zero)
        #expect(holder.next(at: .seconds(5)) == .renew)
        holder.renewalFailed(lost: false, at: .seconds(6))
        #expect(holder.canAct(at: .seconds(6)))
        #expect(holder.next(at: .seconds(6)) == .wait(until: .seconds(7)))
        #expect(holder.next(at: .seconds(7)) == .renew)
        holder.renewalFailed(lost: false, at: .seconds(8))
        #expect(holder.canAct(at: .milliseconds(11_999)))
        #expect(!holder.canAct(at: .seconds(12)))
        #expect(holder.next(at: .seconds(12)) == .stop(.unconfirmed))
        // A renewal answered late changes nothing once stopped.
        holder.renewalSucceeded(Self.lease(rvn: "late"), sentAt: .seconds(7))
        #expect(!holder.canAct(at: .seconds(12)))
    }

    /// SIGSTOP: the process is frozen and its renewals stop; when it wakes it must not act on
    /// its old belief.
    @Test func aFrozenHolderWakesUpUnableToAct() {
        var holder = LeaseHolder(lease: Self.lease(), sentAt: .zero)
        #expect(holder.next(at: .seconds(5)) == .renew)
        holder.renewalSucceeded(Self.lease(rvn: "r2"), sentAt: .seconds(5))
        // Frozen from 6 s to 60 s: nothing ran. The first thing it does on waking is check.
        #expect(!holder.canAct(at: .seconds(60)))
        #expect(holder.next(at: .seconds(60)) == .stop(.unconfirmed))
    }

    @Test func theObserverAdoptsOnlyAfterSeeingTheSameRVNForAWholeLease() {
        var observer = LeaseObserver(nodeID: "b")
        #expect(observer.observe([Self.lease(rvn: "r1")], at: .seconds(100)).isEmpty)
        #expect(observer.nextExpiry == .seconds(115))
        #expect(observer.observe([Self.lease(rvn: "r1")], at: .seconds(114)).isEmpty)
        #expect(observer.observe([Self.lease(rvn: "r1")], at: .seconds(115)) == [Self.lease(rvn: "r1")])
    }

    @Test func aRenewalRestartsTheWait() {
        var observer = LeaseObserver(nodeID: "b")
        _ = observer.observe([Self.lease(rvn: "r1")], at: .seconds(0))
        #expect(observer.observe([Self.lease(rvn: "r2")], at: .seconds(14)).isEmpty)
        #expect(observer.observe([Self.lease(rvn: "r2")], at: .seconds(20)).isEmpty)
        #expect(observer.observe([Self.lease(rvn: "r2")], at: .seconds(29)) == [Self.lease(rvn: "r2")])
        // An adoption by a third node (same RVN text cannot repeat, but the epoch moves) too.
        #expect(observer.observe([Self.lease(owner: "c", epoch: 2, rvn: "r2")], at: .seconds(30)).isEmpty)
    }

    @Test func ownLeasesAreNeverAdoptedAndFinishedOnesAreForgotten() {
        var observer = LeaseObserver(nodeID: "a")
        _ = observer.observe([Self.lease(owner: "a")], at: .zero)
        #expect(observer.observe([Self.lease(owner: "a")], at: .seconds(100)).isEmpty)
        var other = LeaseObserver(nodeID: "b")
        _ = other.observe([Self.lease()], at: .zero)
        _ = other.observe([], at: .seconds(10))
        #expect(other.nextExpiry == nil)
        #expect(other.observe([Self.lease()], at: .seconds(20)).isEmpty)
    }

    /// Wall clocks never enter the decision: the display expiry may say the lease ended an hour
    /// ago (the owner's clock is behind) or ends in an hour (ahead); adoption still needs a
    /// whole lease of the same RVN on the observer's monotonic clock.
    @Test(arguments: [Int64(-3_600_000), -5_000, 0, 5_000, 3_600_000])
    func clockSkewDoesNotChangeTheDecision(skewMs: Int64) {
        var observer = LeaseObserver(nodeID: "b")
        let lease = Self.lease(expiresAtMs: 1_700_000_000_000 + skewMs)
        #expect(observer.observe([lease], at: .seconds(50)).isEmpty)
        #expect(observer.observe([lease], at: .seconds(64)).isEmpty)
        #expect(observer.observe([lease], at: .seconds(65)) == [lease])
    }

    /// Random schedules of renewals (confirmed, failed, answered late), pauses of the owner and
    /// scans by an observer, on one timeline: never may the owner be allowed to act at an
    /// instant when the observer has already decided to adopt.
    @Test func neverTwoActorsAtOnce() {
        var random = SplitMix64(seed: 20_260_301)
        var adoptions = 0
        for _ in 0..<300 {
            let seconds = Int64(5 + random.next() % 20)
            var holder = LeaseHolder(lease: Self.lease(seconds: seconds), sentAt: .zero)
            var observer = LeaseObserver(nodeID: "b")
            var stored = Self.lease(seconds: seconds)
            var adoptedAt: Duration?
            var now = Duration.zero
            var rvn = 1
            var pending: (sentAt: Duration, landsAt: Duration, answered: Bool)?
            while now < .seconds(seconds * 6), adoptedAt == nil {
                now += .milliseconds(Int64(50 + random.next() % 400))
                if let flight = pending, now >= flight.landsAt {
                    // The write landed in DynamoDB at landsAt (after it was sent).
                    rvn += 1
                    stored.rvn = "r\(rvn)"
                    if flight.answered {
                        holder.renewalSucceeded(stored, sentAt: flight.sentAt)
                    } else {
                        holder.renewalFailed(lost: false, at: now)
                    }
                    pending = nil
                }
                let paused = random.next() % 50 == 0
                if !paused, pending == nil, case .renew = holder.next(at: now) {
                    let outcome = random.next() % 10
                    if outcome < 6 {
                        pending = (now, now + .milliseconds(Int64(random.next() % 800)), true)
                    } else if outcome < 8 {
                        pending = (now, now + .milliseconds(Int64(random.next() % 800)), false)
                    } else {
                        holder.renewalFailed(lost: false, at: now + .milliseconds(Int64(random.next() % 3000)))
                    }
                }
                if paused { now += .seconds(Int64(random.next() % UInt64(seconds * 2))) }
                if random.next() % 3 == 0, !observer.observe([stored], at: now).isEmpty {
                    adoptedAt = now
                }
                if let adoptedAt {
                    adoptions += 1
                    #expect(!holder.canAct(at: adoptedAt), "lease \(seconds)s adopted at \(adoptedAt)")
                }
            }
        }
        // The schedules do reach adoption (pauses, failed renewals), not only quiet renewals.
        #expect(adoptions > 100)
    }
}

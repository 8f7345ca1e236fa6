/// The adopter's side, as a pure state machine: which leases held by other nodes have
/// expired, decided the way the AWS DynamoDB Lock Client decides it, without trusting any
/// clock but this node's monotonic one.
///
/// Every scan of the active leases is fed to ``observe(_:at:)``. For a lease held by another
/// node the observer remembers the RVN and epoch it saw and when (local monotonic time) it
/// first saw them. A renewal changes the RVN and restarts the wait. When the same RVN has
/// been seen for a whole lease duration (the one the owner wrote into the lease), the lease is
/// expired and ``observe(_:at:)`` returns it: adopt it with a write conditional on that RVN
/// (and epoch), which fails if the owner renewed in the meantime.
///
/// Wall clocks never enter the decision, so any skew between machines is tolerated; only the
/// rates of the monotonic clocks must be close (the owner's ``LeaseHolder/margin`` covers a
/// drift far larger than real clocks have). A node that starts up waits a whole lease before
/// adopting anything, even a lease whose owner died long ago.
public struct LeaseObserver: Sendable {
    private struct Sighting: Sendable, Hashable {
        var rvn: String
        var epoch: Int64
        var since: Duration
        var duration: Duration
    }

    /// This node: its own leases are never adopted.
    public let nodeID: String
    private var sightings: [String: Sighting] = [:]

    /// An observer for `nodeID`.
    public init(nodeID: String) {
        self.nodeID = nodeID
    }

    /// Takes one consistent scan of the active leases, read at `now`, and returns those to
    /// adopt now (as seen: adopt conditionally on their RVN and epoch). Deployments absent from
    /// the scan are forgotten (they finished).
    public mutating func observe(_ leases: [FleetLease], at now: Duration) -> [FleetLease] {
        var seen: [String: Sighting] = [:]
        var expired: [FleetLease] = []
        for lease in leases where lease.owner != nodeID {
            var sighting = Sighting(rvn: lease.rvn, epoch: lease.epoch, since: now, duration: lease.duration)
            if let previous = sightings[lease.deploymentId], previous.rvn == lease.rvn, previous.epoch == lease.epoch {
                sighting.since = previous.since
            }
            seen[lease.deploymentId] = sighting
            if now - sighting.since >= lease.duration {
                expired.append(lease)
            }
        }
        sightings = seen
        return expired
    }

    /// When the earliest watched lease can expire, if nothing renews it: scan again then.
    public var nextExpiry: Duration? {
        sightings.values.map { $0.since + $0.duration }.min()
    }

    /// Forgets `deploymentId` (adopted, or seen finished elsewhere).
    public mutating func forget(_ deploymentId: String) {
        sightings[deploymentId] = nil
    }
}

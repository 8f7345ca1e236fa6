internal import Synchronization

/// The last derived signing key of one signer, per UTC day.
///
/// The key depends only on the secret, the date, the region and the service; a signer fixes
/// all but the date, so one entry keyed by the day is enough. Copies of a signer share it.
final class SigningKeyCache: Sendable {
    private let entry = Mutex<(day: Int64, key: [UInt8])?>(nil)

    /// The key for `day`, from the cache or derived by `derive` (outside the lock) and kept.
    func key(day: Int64, derive: () -> [UInt8]) -> [UInt8] {
        if let key = entry.withLock({ $0?.day == day ? $0?.key : nil }) {
            return key
        }
        let key = derive()
        entry.withLock { $0 = (day, key) }
        return key
    }
}

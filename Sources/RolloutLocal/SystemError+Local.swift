import RolloutCore
import RolloutSystem

extension SystemError {
    /// The wire error for a failure inside the local provider's own files.
    var internalError: RolloutError {
        .internalError("local provider: \(description)")
    }
}

/// The deployment status, with CodeDeploy's names on the wire.
public enum DeploymentStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Recorded, not started.
    case created = "Created"
    /// Hooks or traffic shifting under way (also while rolling back).
    case inProgress = "InProgress"
    /// The alias is on the target version.
    case succeeded = "Succeeded"
    /// A hook failed, a shift could not be applied or a deadline passed; the alias is back on the old version.
    case failed = "Failed"
    /// Stopped by hand or by an alarm; the alias is back on the old version.
    case stopped = "Stopped"

    /// `Succeeded`, `Failed` or `Stopped`.
    public var isTerminal: Bool { self == .succeeded || self == .failed || self == .stopped }
}

/// A deployment error code (CodeDeploy's `ErrorCode` names). An open struct, not an enum.
public struct DeploymentErrorCode: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The wire name, e.g. `ALARM_ACTIVE`.
    public let rawValue: String

    /// Creates a code from its wire name.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// A lifecycle hook failed or timed out.
    public static let hookExecutionFailure = DeploymentErrorCode(rawValue: "HOOK_EXECUTION_FAILURE")
    /// An alarm went into `ALARM`.
    public static let alarmActive = DeploymentErrorCode(rawValue: "ALARM_ACTIVE")
    /// Stopped by `rollout.stop`.
    public static let manualStop = DeploymentErrorCode(rawValue: "MANUAL_STOP")
    /// The deployment's wall-clock deadline passed.
    public static let timeout = DeploymentErrorCode(rawValue: "TIMEOUT")
    /// Lambda refused the alias configuration.
    public static let invalidLambdaConfiguration = DeploymentErrorCode(rawValue: "INVALID_LAMBDA_CONFIGURATION")
    /// Anything else, e.g. an alias state the record cannot explain.
    public static let internalError = DeploymentErrorCode(rawValue: "INTERNAL_ERROR")

    /// The wire name.
    public var description: String { rawValue }
}

/// `error: {code, message}` of a deployment.
public struct DeploymentError: Sendable, Hashable, Codable {
    /// The CodeDeploy-style code.
    public var code: DeploymentErrorCode
    /// What happened, for humans.
    public var message: String

    /// Creates an error.
    public init(code: DeploymentErrorCode, message: String) {
        self.code = code
        self.message = message
    }
}

/// One entry of a deployment's history.
public struct DeploymentEvent: Sendable, Hashable, Codable {
    /// Seconds since the epoch.
    public var at: Double
    /// What happened, e.g. `ShiftApplied`.
    public var type: String
    /// Details for humans.
    public var detail: String

    /// Creates an event.
    public init(at: Double, type: String, detail: String) {
        self.at = at
        self.type = type
        self.detail = detail
    }
}

/// A lifecycle hook.
public enum Hook: String, Sendable, Hashable, Codable, CaseIterable {
    /// Runs before the first shift.
    case beforeTraffic
    /// Runs after the 100% step.
    case afterTraffic
}

/// An SNS notification; each is sent at most once per deployment.
public enum NotificationEvent: String, Sendable, Hashable, Codable, CaseIterable {
    /// The deployment started.
    case deploymentStart = "DeploymentStart"
    /// The alias is on the target version.
    case deploymentSuccess = "DeploymentSuccess"
    /// The deployment failed.
    case deploymentFailure = "DeploymentFailure"
    /// The deployment was stopped (by hand or by an alarm).
    case deploymentStop = "DeploymentStop"
    /// The alias was rolled back to the old version.
    case deploymentRollback = "DeploymentRollback"
}

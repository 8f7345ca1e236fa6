public import RolloutCore
import RolloutCrypto

/// The Lambda AppSpec of one deployment (pure; no I/O), as CodeDeploy's
/// `revision.appSpecContent {content, sha256}` carries it:
///
/// ```json
/// {"version":"0.0",
///  "Resources":[{"<logicalName>":{"Type":"AWS::Lambda::Function",
///    "Properties":{"Name":"fn","Alias":"live","CurrentVersion":"7","TargetVersion":"8"}}}],
///  "Hooks":[{"BeforeAllowTraffic":"hookFn"},{"AfterAllowTraffic":"hookFn"}]}
/// ```
///
/// Every property value is a string. `Hooks` has one entry per configured hook, in lifecycle
/// order, and is left out when no hook is configured.
public struct AppSpec: Sendable, Hashable {
    /// The compact JSON text.
    public let content: String
    /// The lowercase hex SHA-256 of ``content``'s UTF-8 bytes.
    public let sha256: String

    /// The logical name of the one resource when none is given.
    public static let defaultLogicalName = "rolloutdTarget"

    /// The AppSpec moving `alias` of `function` from `currentVersion` to `targetVersion`.
    ///
    /// - Throws: InvalidParams naming the field when one is empty; PreconditionFailed when
    ///   `currentVersion` or `targetVersion` is `$LATEST`, or they are equal (CodeDeploy
    ///   fails such a deployment with "AppSpec … missing or has an invalid configuration").
    public init(
        function: String, alias: String, currentVersion: String, targetVersion: String, hooks: RolloutHooks? = nil,
        logicalName: String = AppSpec.defaultLogicalName
    ) throws(RolloutError) {
        for (field, value) in [("function", function), ("alias", alias), ("fromVersion", currentVersion), ("targetVersion", targetVersion)]
        where value.isEmpty {
            throw RolloutError.invalidParams("\(field) must not be empty")
        }
        guard currentVersion != "$LATEST" else {
            throw RolloutError(
                .preconditionFailed,
                "the alias \(alias) routes to $LATEST; CodeDeploy needs a published CurrentVersion (publish a version and point the alias at it)"
            )
        }
        guard targetVersion != "$LATEST" else {
            throw RolloutError(.preconditionFailed, "targetVersion must be a published version, not $LATEST")
        }
        guard currentVersion != targetVersion else {
            throw RolloutError(
                .preconditionFailed, "CurrentVersion and TargetVersion are both \(targetVersion); CodeDeploy refuses such an AppSpec"
            )
        }
        var hookEntries: [JSONValue] = []
        for (hook, lifecycleEvent) in [(Hook.beforeTraffic, "BeforeAllowTraffic"), (.afterTraffic, "AfterAllowTraffic")] {
            if let hookFunction = hooks?.function(for: hook), !hookFunction.isEmpty {
                hookEntries.append(.object([lifecycleEvent: .string(hookFunction)]))
            }
        }
        var document: JSONObject = [
            "version": "0.0",
            "Resources": [
                .object([
                    logicalName: [
                        "Type": "AWS::Lambda::Function",
                        "Properties": [
                            "Name": .string(function),
                            "Alias": .string(alias),
                            "CurrentVersion": .string(currentVersion),
                            "TargetVersion": .string(targetVersion),
                        ],
                    ]
                ])
            ],
        ]
        if !hookEntries.isEmpty { document["Hooks"] = .array(hookEntries) }
        content = JSONValue.object(document).jsonString
        sha256 = Digest.sha256(content).hexString
    }
}

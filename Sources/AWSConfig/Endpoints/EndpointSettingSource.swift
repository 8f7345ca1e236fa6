/// Where a resolved endpoint URL or region came from (SPEC §2.1), written in
/// `config explain` as `config:<key>`, `env:<VAR>`, `profile:<name>:services:<section>`,
/// `profile:<name>`, `default` or `none`.
public enum EndpointSettingSource: Sendable, Hashable, CustomStringConvertible {
    /// The daemon's TOML file; `key` is the dotted key (`cloud.region`).
    case configuration(key: String)
    /// An environment variable.
    case environment(variable: String)
    /// The service's sub-section of the `[services NAME]` section the profile names.
    case profileServices(profile: String, section: String)
    /// A key of the active profile itself.
    case profile(String)
    /// The AWS default: the partition endpoint for the region, or `us-east-1` for the
    /// services that have a global endpoint (S3, STS).
    case `default`
    /// Nothing: no region, so no endpoint either.
    case unresolved

    /// The form used in `config explain`.
    public var description: String {
        switch self {
        case .configuration(let key): "config:\(key)"
        case .environment(let variable): "env:\(variable)"
        case .profileServices(let profile, let section): "profile:\(profile):services:\(section)"
        case .profile(let name): "profile:\(name)"
        case .default: "default"
        case .unresolved: "none"
        }
    }
}

/// The endpoint URL and region one service will use, and where each came from.
public struct ResolvedEndpoint: Sendable, Hashable {
    /// The service.
    public var service: AWSService
    /// The URL requests go to; nil only when there is no region to build the default from.
    public var endpointURL: String?
    /// Where ``endpointURL`` came from.
    public var endpointSource: EndpointSettingSource
    /// The region requests are signed for; nil when nothing sets one and the service has no
    /// global endpoint.
    public var region: String?
    /// Where ``region`` came from.
    public var regionSource: EndpointSettingSource

    /// Creates a resolution.
    public init(
        service: AWSService,
        endpointURL: String?,
        endpointSource: EndpointSettingSource,
        region: String?,
        regionSource: EndpointSettingSource
    ) {
        self.service = service
        self.endpointURL = endpointURL
        self.endpointSource = endpointSource
        self.region = region
        self.regionSource = regionSource
    }
}

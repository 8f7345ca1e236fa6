public import RolloutCore

/// Resolves, for every ``AWSService``, the endpoint URL and region the daemon will use and
/// where each came from (SPEC §2.1), the way botocore 1.43.11 would for the same
/// environment and shared files.
///
/// Endpoint URL, highest first:
/// 1. `[cloud.aws.<svc>] endpoint_url` in the TOML file (`config:cloud.aws.<svc>.endpoint_url`;
///    DynamoDB's is `[fleet] endpoint_url`, `config:fleet.endpoint_url`);
/// 2. `AWS_ENDPOINT_URL_<SERVICE_ID>`;
/// 3. `AWS_ENDPOINT_URL`;
/// 4. `endpoint_url` in the service's sub-section of the `[services NAME]` section the
///    profile's `services` key names (a top-level `endpoint_url` there is ignored);
/// 5. the profile's own `endpoint_url`;
/// 6. the default endpoint of the region's partition.
///
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`, when set at all, decides whether steps 2–5 are
/// skipped (`true` in any case skips them); only when it is unset does the profile's
/// `ignore_configured_endpoint_urls` decide — as botocore reads them.
///
/// Region, highest first: `[cloud] region`; `AWS_REGION_<SERVICE_ID>` (SPEC's own, read by
/// no AWS SDK); `AWS_REGION`, then `AWS_DEFAULT_REGION` (botocore reads only the latter; the
/// AWS CLI v2 and the other SDKs read both in this order); the profile's `region`. With no
/// region at all, S3 and STS use their global endpoints and sign for `us-east-1`; the other
/// services have no region and no endpoint (botocore raises `NoRegionError` for them).
///
/// An empty value anywhere counts as unset.
public struct EndpointResolver: Sendable {
    /// `[cloud] provider`, echoed by ``explain()``.
    public let provider: Configuration.Cloud.Provider
    /// The active profile (``SharedConfigFile/activeProfileName(configuredProfile:environment:)``).
    public let profile: String
    /// One resolution per service, in ``AWSService/allCases`` order.
    public let endpoints: [ResolvedEndpoint]

    /// Resolves every service.
    ///
    /// - Parameters:
    ///   - configuration: the daemon's configuration (`[cloud] region`, `[cloud.aws] profile`,
    ///     each service's `endpoint_url`).
    ///   - environment: the process environment.
    ///   - sharedConfig: the shared config and credentials files, merged
    ///     (``SharedConfigFile/load(environment:)``).
    /// - Throws: the first problem met, services taken in ``AWSService/allCases`` order — a
    ///   named profile that does not exist, a missing `[services]` section, an invalid region
    ///   or endpoint URL. botocore raises the same errors when it creates the client.
    public init(
        configuration: Configuration,
        environment: [String: String],
        sharedConfig: SharedConfigFile
    ) throws(EndpointResolutionError) {
        let profile = SharedConfigFile.activeProfileName(
            configuredProfile: configuration.cloud.aws.profile, environment: environment)
        guard let section = sharedConfig.profile(named: profile) else {
            throw EndpointResolutionError(
                code: .profileNotFound,
                message: "the AWS profile \(profile) is in neither the shared config file nor the credentials file")
        }
        let inputs = Inputs(
            configuration: configuration, environment: environment, sharedConfig: sharedConfig,
            profileName: profile, profile: section)
        var endpoints: [ResolvedEndpoint] = []
        for service in AWSService.allCases {
            endpoints.append(try inputs.resolve(service))
        }
        self.provider = configuration.cloud.provider
        self.profile = profile
        self.endpoints = endpoints
    }

    /// The resolution for `service`.
    public func endpoint(for service: AWSService) -> ResolvedEndpoint {
        // `endpoints` holds every case, in `allCases` order.
        endpoints[AWSService.allCases.firstIndex(of: service)!]
    }
}

/// A value that may be unset, and the source it would come from.
private typealias Candidate = (value: String?, source: EndpointSettingSource)

/// Everything resolution reads, with the active profile already looked up.
private struct Inputs {
    var configuration: Configuration
    var environment: [String: String]
    var sharedConfig: SharedConfigFile
    var profileName: String
    var profile: SharedConfigSection

    func resolve(_ service: AWSService) throws(EndpointResolutionError) -> ResolvedEndpoint {
        var region = try self.region(for: service)
        let endpoint = try self.endpoint(for: service, region: region.value)
        if region.value == nil && (service == .s3 || service == .sts) {
            // Their global endpoints sign for us-east-1 (botocore: S3 reports it, STS `aws-global`).
            region = ("us-east-1", .default)
        }
        return ResolvedEndpoint(
            service: service, endpointURL: endpoint.value, endpointSource: endpoint.source,
            region: region.value, regionSource: region.source)
    }

    /// The configured endpoint URL, validated, else the default one for `region`.
    private func endpoint(for service: AWSService, region: String?) throws(EndpointResolutionError) -> Candidate {
        guard let configured = try configuredEndpoint(for: service) else {
            let url = DefaultEndpoint.url(for: service, region: region)
            return (url, url == nil ? .unresolved : .default)
        }
        guard let url = configured.value, HostValidation.isValidEndpointURL(url) else {
            throw EndpointResolutionError(
                code: .invalidEndpointURL, service: service,
                message: "the \(service.serviceID) endpoint URL from \(configured.source) has no valid host")
        }
        return configured
    }

    /// The region from configuration, environment or profile, validated.
    private func region(for service: AWSService) throws(EndpointResolutionError) -> Candidate {
        let found = firstSet([
            (configuration.cloud.region, .configuration(key: "cloud.region")),
            (environment[service.regionVariable], .environment(variable: service.regionVariable)),
            (environment["AWS_REGION"], .environment(variable: "AWS_REGION")),
            (environment["AWS_DEFAULT_REGION"], .environment(variable: "AWS_DEFAULT_REGION")),
            (profile.region, .profile(profileName)),
        ])
        guard let found, let region = found.value else { return (nil, .unresolved) }
        guard HostValidation.isValidRegion(region) else {
            throw EndpointResolutionError(
                code: .invalidRegion, service: service,
                message: "the region from \(found.source) is not a valid region name"
                    + " (an inline # comment is part of the value)")
        }
        return found
    }

    /// The endpoint URL from steps 1–5, or nil when the default applies.
    private func configuredEndpoint(for service: AWSService) throws(EndpointResolutionError) -> Candidate? {
        let table = service.configurationTable
        if let programmatic = firstSet([
            (service.configuredEndpointURL(in: configuration), .configuration(key: table + ".endpoint_url"))
        ]) {
            return programmatic
        }
        return try ConfiguredEndpointLookup(
            environment: environment, sharedConfig: sharedConfig, profileName: profileName, profile: profile
        ).endpoint(variable: service.endpointURLVariable, sectionKey: service.servicesSectionKey, service: service)
    }

    /// The first candidate with a non-empty value.
    private func firstSet(_ candidates: [Candidate]) -> Candidate? {
        candidates.first { $0.value?.isEmpty == false }
    }
}

/// Steps 2–5 for one service: what the environment and the shared config file say about its
/// endpoint URL.
private struct ConfiguredEndpointLookup {
    var environment: [String: String]
    var sharedConfig: SharedConfigFile
    var profileName: String
    var profile: SharedConfigSection

    /// `variable` (`AWS_ENDPOINT_URL_<SERVICE_ID>`), `AWS_ENDPOINT_URL`, the `sectionKey`
    /// sub-section of the profile's `[services NAME]`, the profile's `endpoint_url`; nil when
    /// none is set or configured endpoints are ignored. `service` is named in errors.
    func endpoint(variable: String, sectionKey: String, service: AWSService?) throws(EndpointResolutionError) -> Candidate? {
        if ignoresConfiguredEndpoints { return nil }
        let candidates: [Candidate] = [
            (environment[variable], .environment(variable: variable)),
            (environment["AWS_ENDPOINT_URL"], .environment(variable: "AWS_ENDPOINT_URL")),
        ]
        if let fromEnvironment = candidates.first(where: { $0.value?.isEmpty == false }) {
            return fromEnvironment
        }
        return [
            try servicesSectionEndpoint(sectionKey: sectionKey, service: service),
            (profile.endpointURL, .profile(profileName)),
        ].first { $0.value?.isEmpty == false }
    }

    /// botocore's `_get_endpoint_url_config_service`: only reached when nothing above it is
    /// set, and only then does a dangling `services` reference fail.
    private func servicesSectionEndpoint(sectionKey: String, service: AWSService?) throws(EndpointResolutionError) -> Candidate {
        guard let name = profile.services else { return (nil, .unresolved) }
        guard let section = sharedConfig.services[name], !section.values.isEmpty else {
            throw EndpointResolutionError(
                code: .servicesSectionNotFound, service: service,
                message: "the AWS profile \(profileName) uses services = \(name),"
                    + " but there is no [services \(name)] section with settings")
        }
        let url = section.subsection(sectionKey)?["endpoint_url"]
        return (url, .profileServices(profile: profileName, section: name))
    }

    private var ignoresConfiguredEndpoints: Bool {
        if let flag = environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] { return flag.lowercased() == "true" }
        return profile.ignoreConfiguredEndpointURLs ?? false
    }
}

extension EndpointResolver {
    /// The endpoint URL of a service that only the credential chain calls and the TOML file
    /// does not configure — IAM Identity Center's portal (service id `SSO`) and its OIDC
    /// service (`SSO OIDC`) — resolved as SPEC §2.1 resolves the others from step 2 on:
    /// `AWS_ENDPOINT_URL_<SERVICE_ID>`, `AWS_ENDPOINT_URL`, the profile's `[services]`
    /// sub-section (`sso`, `sso_oidc`), the profile's `endpoint_url`, else
    /// `https://<endpointPrefix>.<region>.<partition DNS suffix>`, as botocore creates those
    /// clients for `profileName` with the region given (`sso_region`).
    ///
    /// - Throws: a dangling `services` reference, or a configured URL without a valid host.
    public static func credentialServiceEndpoint(
        serviceID: String,
        endpointPrefix: String,
        region: String,
        environment: [String: String],
        sharedConfig: SharedConfigFile,
        profileName: String
    ) throws(EndpointResolutionError) -> (url: String, source: EndpointSettingSource) {
        let snakeCase = String(serviceID.map { $0 == " " ? "_" : $0 })
        let variable = "AWS_ENDPOINT_URL_" + snakeCase.uppercased()
        let lookup = ConfiguredEndpointLookup(
            environment: environment, sharedConfig: sharedConfig, profileName: profileName,
            profile: sharedConfig.profile(named: profileName) ?? SharedConfigSection())
        guard let configured = try lookup.endpoint(variable: variable, sectionKey: snakeCase.lowercased(), service: nil),
              let url = configured.value
        else {
            return (DefaultEndpoint.url(endpointPrefix: endpointPrefix, region: region), .default)
        }
        guard HostValidation.isValidEndpointURL(url) else {
            throw EndpointResolutionError(
                code: .invalidEndpointURL, message: "the \(serviceID) endpoint URL from \(configured.source) has no valid host")
        }
        return (url, configured.source)
    }
}

extension AWSService {
    /// `[cloud.aws.<svc>] endpoint_url` (`[fleet] endpoint_url` for DynamoDB).
    func configuredEndpointURL(in configuration: Configuration) -> String? {
        let aws = configuration.cloud.aws
        return switch self {
        case .s3: aws.s3.endpointURL
        case .sqs: aws.sqs.endpointURL
        case .secretsManager: aws.secrets.endpointURL
        case .lambda: aws.lambda.endpointURL
        case .cloudWatch: aws.cloudwatch.endpointURL
        case .sns: aws.sns.endpointURL
        case .codeDeploy: aws.codedeploy.endpointURL
        case .sts: aws.sts.endpointURL
        case .dynamoDB: configuration.fleet.endpointURL
        }
    }
}

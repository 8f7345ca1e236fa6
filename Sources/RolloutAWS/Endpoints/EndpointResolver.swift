public import RolloutCore

/// Resolves, for every ``AWSService``, the endpoint URL and region the daemon will use and
/// where each came from (SPEC §2.1), the way botocore 1.43.11 would for the same
/// environment and shared files.
///
/// Endpoint URL, highest first:
/// 1. `[cloud.aws.<svc>] endpoint_url` in the TOML file (`config:cloud.aws.<svc>.endpoint_url`);
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
        if ignoresConfiguredEndpoints { return nil }
        let variable = service.endpointURLVariable
        if let fromEnvironment = firstSet([
            (environment[variable], .environment(variable: variable)),
            (environment["AWS_ENDPOINT_URL"], .environment(variable: "AWS_ENDPOINT_URL")),
        ]) {
            return fromEnvironment
        }
        return firstSet([
            try servicesSectionEndpoint(for: service),
            (profile.endpointURL, .profile(profileName)),
        ])
    }

    /// botocore's `_get_endpoint_url_config_service`: only reached when nothing above it is
    /// set, and only then does a dangling `services` reference fail.
    private func servicesSectionEndpoint(for service: AWSService) throws(EndpointResolutionError) -> Candidate {
        guard let name = profile.services else { return (nil, .unresolved) }
        guard let section = sharedConfig.services[name], !section.values.isEmpty else {
            throw EndpointResolutionError(
                code: .servicesSectionNotFound, service: service,
                message: "the AWS profile \(profileName) uses services = \(name),"
                    + " but there is no [services \(name)] section with settings")
        }
        let url = section.subsection(service.servicesSectionKey)?["endpoint_url"]
        return (url, .profileServices(profile: profileName, section: name))
    }

    private var ignoresConfiguredEndpoints: Bool {
        if let flag = environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] { return flag.lowercased() == "true" }
        return profile.ignoreConfiguredEndpointURLs ?? false
    }

    /// The first candidate with a non-empty value.
    private func firstSet(_ candidates: [Candidate]) -> Candidate? {
        candidates.first { $0.value?.isEmpty == false }
    }
}

extension AWSService {
    /// `[cloud.aws.<svc>] endpoint_url`.
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
        }
    }
}

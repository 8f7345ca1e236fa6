public import AWSConfig
/// Where the credential providers call STS (`AssumeRole`, `AssumeRoleWithWebIdentity`):
/// the endpoint URL and the region requests are signed for.
public struct STSEndpoint: Sendable, Hashable {
    /// The endpoint URL, e.g. `https://sts.us-west-2.amazonaws.com` or `http://127.0.0.1:5000`.
    public var url: String
    /// The signing region, e.g. `us-west-2` (`us-east-1` for the global endpoint).
    public var region: String

    /// An endpoint from its URL and signing region.
    public init(url: String, region: String) {
        self.url = url
        self.region = region
    }

    /// The STS endpoint the ``EndpointResolver`` resolved (SPEC §2.1); nil when it has no URL.
    public init?(_ resolved: ResolvedEndpoint) {
        guard let url = resolved.endpointURL else { return nil }
        self.init(url: url, region: resolved.region ?? "us-east-1")
    }
}

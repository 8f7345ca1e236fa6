public import RolloutCore

extension EndpointResolver {
    /// What `rolloutctl config explain --json` prints (SPEC §2.1):
    /// `{"provider":"aws","profile":"dev","services":{"s3":{"endpointUrl":...,
    /// "endpointSource":...,"region":...,"regionSource":...},...}}`, services in
    /// ``AWSService/allCases`` order under their ``AWSService/explainKey``. An unresolved URL
    /// or region is `null` with the source `"none"`. Holds no credentials.
    public func explain() -> JSONValue {
        var services = JSONObject()
        for endpoint in endpoints {
            services[endpoint.service.explainKey] = [
                "endpointUrl": endpoint.endpointURL.map(JSONValue.string) ?? .null,
                "endpointSource": .string(endpoint.endpointSource.description),
                "region": endpoint.region.map(JSONValue.string) ?? .null,
                "regionSource": .string(endpoint.regionSource.description),
            ]
        }
        return [
            "provider": .string(provider.rawValue),
            "profile": .string(profile),
            "services": .object(services),
        ]
    }
}

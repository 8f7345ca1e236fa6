@testable import AWSConfig
import RolloutCore
import Testing
@testable import RolloutAWS

/// Resolves with `toml` applied to a default configuration.
private func resolve(
    environment: [String: String] = [:],
    config: String = "",
    credentials: String = "",
    toml: (inout Configuration) -> Void = { _ in }
) throws -> EndpointResolver {
    var configuration = Configuration()
    configuration.cloud.provider = .aws
    toml(&configuration)
    let shared = try SharedConfigFile(parsing: config)
        .merging(credentials: SharedConfigFile(parsing: credentials, kind: .credentials))
    return try EndpointResolver(configuration: configuration, environment: environment, sharedConfig: shared)
}

private func resolutionError(
    environment: [String: String] = [:],
    config: String = "",
    toml: (inout Configuration) -> Void = { _ in }
) -> EndpointResolutionError? {
    do {
        _ = try resolve(environment: environment, config: config, toml: toml)
        return nil
    } catch let error as EndpointResolutionError {
        return error
    } catch {
        return nil
    }
}

/// The S3 endpoint URL and its source.
private func s3(_ resolver: EndpointResolver) -> (String?, String) {
    let endpoint = resolver.endpoint(for: .s3)
    return (endpoint.endpointURL, endpoint.endpointSource.description)
}

/// The SQS region and its source.
private func sqsRegion(_ resolver: EndpointResolver) -> (String?, String) {
    let endpoint = resolver.endpoint(for: .sqs)
    return (endpoint.region, endpoint.regionSource.description)
}

private let everyEndpointSource = """
    [profile dev]
    region = eu-west-3
    endpoint_url = http://profile
    services = local
    [services local]
    endpoint_url = http://services-top-level
    s3 =
      endpoint_url = http://services-s3
    """

@Suite("AWS services")
struct AWSServiceTests {
    @Test func names() {
        let table = AWSService.allCases.map {
            [$0.serviceID, $0.environmentSuffix, $0.servicesSectionKey, $0.explainKey, $0.signingName, $0.endpointPrefix]
        }
        #expect(table == [
            ["S3", "S3", "s3", "s3", "s3", "s3"],
            ["SQS", "SQS", "sqs", "sqs", "sqs", "sqs"],
            ["Secrets Manager", "SECRETS_MANAGER", "secrets_manager", "secrets_manager", "secretsmanager", "secretsmanager"],
            ["Lambda", "LAMBDA", "lambda", "lambda", "lambda", "lambda"],
            ["CloudWatch", "CLOUDWATCH", "cloudwatch", "cloudwatch", "monitoring", "monitoring"],
            ["SNS", "SNS", "sns", "sns", "sns", "sns"],
            ["CodeDeploy", "CODEDEPLOY", "codedeploy", "codedeploy", "codedeploy", "codedeploy"],
            ["STS", "STS", "sts", "sts", "sts", "sts"],
            ["DynamoDB", "DYNAMODB", "dynamodb", "dynamodb", "dynamodb", "dynamodb"],
        ])
        #expect(AWSService.secretsManager.endpointURLVariable == "AWS_ENDPOINT_URL_SECRETS_MANAGER")
        #expect(AWSService.cloudWatch.regionVariable == "AWS_REGION_CLOUDWATCH")
    }
}

@Suite("Endpoint resolution")
struct EndpointsTests {
    @Test func endpointPrecedenceHighestFirst() throws {
        let allSet: [String: String] = ["AWS_ENDPOINT_URL_S3": "http://env-s3", "AWS_ENDPOINT_URL": "http://env-global"]
        let dev = ["AWS_PROFILE": "dev"]
        var resolver = try resolve(environment: allSet.merging(dev) { $1 }, config: everyEndpointSource) {
            $0.cloud.aws.s3.endpointURL = "http://toml"
        }
        #expect(s3(resolver) == ("http://toml", "config:cloud.aws.s3.endpoint_url"))
        resolver = try resolve(environment: allSet.merging(dev) { $1 }, config: everyEndpointSource)
        #expect(s3(resolver) == ("http://env-s3", "env:AWS_ENDPOINT_URL_S3"))
        #expect(resolver.endpoint(for: .sqs).endpointURL == "http://env-global")
        resolver = try resolve(environment: ["AWS_ENDPOINT_URL": "http://env-global", "AWS_PROFILE": "dev"], config: everyEndpointSource)
        #expect(s3(resolver) == ("http://env-global", "env:AWS_ENDPOINT_URL"))
        resolver = try resolve(environment: dev, config: everyEndpointSource)
        #expect(s3(resolver) == ("http://services-s3", "profile:dev:services:local"))
        let sqs = resolver.endpoint(for: .sqs)
        #expect(sqs.endpointURL == "http://profile")
        #expect(sqs.endpointSource == .profile("dev"))
        resolver = try resolve(environment: ["AWS_DEFAULT_REGION": "us-west-2"])
        #expect(s3(resolver) == ("https://s3.us-west-2.amazonaws.com", "default"))
    }

    @Test func everyServiceReadsItsOwnSettings() throws {
        let resolver = try resolve(
            environment: Dictionary(uniqueKeysWithValues: AWSService.allCases.map { ($0.endpointURLVariable, "http://\($0.signingName)") })
                .merging(["AWS_DEFAULT_REGION": "us-west-2"]) { $1 },
            toml: { $0.cloud.aws.secrets.endpointURL = "http://toml-secrets" })
        for service in AWSService.allCases where service != .secretsManager {
            #expect(resolver.endpoint(for: service).endpointURL == "http://\(service.signingName)")
            #expect(resolver.endpoint(for: service).endpointSource.description == "env:\(service.endpointURLVariable)")
        }
        #expect(s3Like(resolver, .secretsManager) == ("http://toml-secrets", "config:cloud.aws.secrets.endpoint_url"))
    }

    private func s3Like(_ resolver: EndpointResolver, _ service: AWSService) -> (String?, String) {
        (resolver.endpoint(for: service).endpointURL, resolver.endpoint(for: service).endpointSource.description)
    }

    @Test func regionPrecedenceHighestFirst() throws {
        let config = "[default]\nregion = eu-west-3\n"
        var environment = [
            "AWS_REGION_SQS": "ap-south-1", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2",
        ]
        var resolver = try resolve(environment: environment, config: config) { $0.cloud.region = "us-west-2" }
        #expect(sqsRegion(resolver) == ("us-west-2", "config:cloud.region"))
        resolver = try resolve(environment: environment, config: config)
        #expect(sqsRegion(resolver) == ("ap-south-1", "env:AWS_REGION_SQS"))
        #expect(resolver.endpoint(for: .sns).region == "eu-west-1")
        environment["AWS_REGION_SQS"] = nil
        resolver = try resolve(environment: environment, config: config)
        #expect(sqsRegion(resolver) == ("eu-west-1", "env:AWS_REGION"))
        environment["AWS_REGION"] = nil
        resolver = try resolve(environment: environment, config: config)
        #expect(sqsRegion(resolver) == ("eu-west-2", "env:AWS_DEFAULT_REGION"))
        resolver = try resolve(config: config)
        #expect(sqsRegion(resolver) == ("eu-west-3", "profile:default"))
        #expect(resolver.endpoint(for: .sqs).endpointURL == "https://sqs.eu-west-3.amazonaws.com")
    }

    @Test func aServicesSectionRegionIsNotRead() throws {
        let resolver = try resolve(
            environment: ["AWS_DEFAULT_REGION": "us-west-2"],
            config: "[default]\nservices = s\n[services s]\nsqs =\n  region = eu-west-1\n")
        #expect(sqsRegion(resolver) == ("us-west-2", "env:AWS_DEFAULT_REGION"))
    }

    @Test func emptyValuesFallThrough() throws {
        let resolver = try resolve(
            environment: [
                "AWS_ENDPOINT_URL_S3": "", "AWS_ENDPOINT_URL": "", "AWS_REGION_SQS": "", "AWS_REGION": "",
                "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "",
            ],
            config: "[default]\nregion = eu-west-3\nendpoint_url =\nservices = s\n[services s]\ns3 =\n  endpoint_url =\n",
            toml: { $0.cloud.region = ""; $0.cloud.aws.s3.endpointURL = "" })
        #expect(s3(resolver) == ("https://s3.eu-west-3.amazonaws.com", "default"))
        #expect(sqsRegion(resolver) == ("eu-west-3", "profile:default"))
        #expect(resolver.profile == "default")
    }

    @Test func ignoreFlagFromTheEnvironment() throws {
        for value in ["true", "TRUE", "True"] {
            let resolver = try resolve(
                environment: ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": value, "AWS_ENDPOINT_URL": "http://env", "AWS_PROFILE": "dev"],
                config: everyEndpointSource)
            #expect(s3(resolver) == ("https://s3.eu-west-3.amazonaws.com", "default"))
            #expect(sqsRegion(resolver) == ("eu-west-3", "profile:dev"))
        }
        let programmatic = try resolve(environment: ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_DEFAULT_REGION": "us-west-2"]) {
            $0.cloud.aws.s3.endpointURL = "http://toml"
        }
        #expect(s3(programmatic) == ("http://toml", "config:cloud.aws.s3.endpoint_url"))
    }

    @Test func ignoreFlagFromTheProfileUnlessTheEnvironmentSetsOne() throws {
        let config = "[default]\nregion = us-west-2\nendpoint_url = http://profile\nignore_configured_endpoint_urls = True\n"
        let ignored = try resolve(environment: ["AWS_ENDPOINT_URL": "http://env"], config: config)
        #expect(s3(ignored) == ("https://s3.us-west-2.amazonaws.com", "default"))
        for value in ["false", "1", ""] {
            let used = try resolve(environment: ["AWS_ENDPOINT_URL": "http://env", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": value], config: config)
            #expect(s3(used) == ("http://env", "env:AWS_ENDPOINT_URL"))
        }
    }

    @Test func servicesSectionProblems() throws {
        let dangling = "[default]\nregion = us-west-2\nservices = nosuch\n[services empty]\n"
        let missing = resolutionError(config: dangling)
        #expect(missing?.code == .servicesSectionNotFound)
        #expect(missing?.service == .s3)
        #expect(resolutionError(config: dangling.replacing("nosuch", with: "empty"))?.code == .servicesSectionNotFound)
        // Not reached: every service has a higher-precedence endpoint, or endpoints are ignored.
        #expect(resolutionError(environment: ["AWS_ENDPOINT_URL": "http://env"], config: dangling) == nil)
        #expect(resolutionError(environment: ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"], config: dangling) == nil)
    }

    @Test func profiles() throws {
        let error = resolutionError(environment: ["AWS_PROFILE": "ghost", "AWS_DEFAULT_REGION": "us-west-2"])
        #expect(error?.code == .profileNotFound)
        #expect(error?.service == nil)
        #expect(resolutionError(environment: ["AWS_DEFAULT_REGION": "us-west-2"]) { $0.cloud.aws.profile = "ghost" }?.code == .profileNotFound)
        let absentDefault = try resolve(environment: ["AWS_PROFILE": "default", "AWS_DEFAULT_REGION": "us-west-2"])
        #expect(absentDefault.profile == "default")
        let configured = try resolve(
            environment: ["AWS_PROFILE": "dev"], config: "[profile dev]\nregion = a-b-1\n[profile ci]\nregion = c-d-1\n",
            toml: { $0.cloud.aws.profile = "ci" })
        #expect(configured.profile == "ci")
        #expect(sqsRegion(configured) == ("c-d-1", "profile:ci"))
        let fromCredentials = try resolve(credentials: "[dev]\nregion = eu-south-1\n") { $0.cloud.aws.profile = "dev" }
        #expect(sqsRegion(fromCredentials) == ("eu-south-1", "profile:dev"))
    }

    @Test func invalidRegionsAndEndpoints() throws {
        let region = resolutionError(config: "[default]\nregion = us-west-2 # primary\n")
        #expect(region?.code == .invalidRegion)
        #expect(region?.service == .s3)
        #expect(region?.message.contains("profile:default") == true)
        let endpoint = resolutionError(environment: ["AWS_ENDPOINT_URL_SQS": "http://user:pa55@bad host", "AWS_DEFAULT_REGION": "us-west-2"])
        #expect(endpoint?.code == .invalidEndpointURL)
        #expect(endpoint?.service == .sqs)
        #expect(endpoint?.message.contains("pa55") == false)
    }

    @Test(arguments: [
        ("us-west-2", true), ("aws-global", true), ("", true), ("a", true), ("UPPER-1", true),
        ("us-west-2 # x", false), ("-us", false), ("us-", false), ("123", false), ("us_west_2", false),
        (String(repeating: "a", count: 64), false), ("ü-1", false),
    ])
    func regionNames(region: String, valid: Bool) {
        #expect(HostValidation.isValidRegion(region) == valid)
    }

    @Test(arguments: [
        ("http://localhost:4566", true), ("https://s3.example.com/base/", true), ("HTTP://LocalHost:4566", true),
        ("ftp://x", true), ("http://x:99999", true), ("//host", true), ("http://a.b.", true),
        ("http://user:pw@host:1/p?q#f", true), ("https://[::1]:4566", true), ("http://[fe80::1%25eth0]", true),
        ("http://[2001:db8::1.2.3.4]/", true), ("http://[1:2:3:4:5:6:7:8]", true),
        ("localhost:4566", false), ("http://", false), ("http://a_b:1", false), (" http://x ", false),
        ("http://x # c", false), ("http://x\n", false), ("http://-x", false), ("http://[::1", false),
        ("http://[1:2:3:4:5:6:7:8:9]", false), ("http://[::1::2]", false), ("http://[::g]", false), ("http://..", false),
    ])
    func endpointURLs(url: String, valid: Bool) {
        #expect(HostValidation.isValidEndpointURL(url) == valid)
    }

    @Test func defaultEndpointsByPartition() {
        let expectations: [(AWSService, String?, String?)] = [
            (.cloudWatch, "us-west-2", "https://monitoring.us-west-2.amazonaws.com"),
            (.s3, "us-east-1", "https://s3.amazonaws.com"),
            (.sts, "us-east-1", "https://sts.us-east-1.amazonaws.com"),
            (.s3, "aws-global", "https://s3.amazonaws.com"),
            (.sts, "aws-global", "https://sts.amazonaws.com"),
            (.lambda, "aws-global", "https://lambda.aws-global.amazonaws.com"),
            (.secretsManager, "cn-north-1", "https://secretsmanager.cn-north-1.amazonaws.com.cn"),
            (.sqs, "us-gov-west-1", "https://sqs.us-gov-west-1.amazonaws.com"),
            (.sns, "us-iso-east-1", "https://sns.us-iso-east-1.c2s.ic.gov"),
            (.sns, "us-isob-east-1", "https://sns.us-isob-east-1.sc2s.sgov.gov"),
            (.sns, "eu-isoe-west-1", "https://sns.eu-isoe-west-1.cloud.adc-e.uk"),
            (.sns, "us-isof-south-1", "https://sns.us-isof-south-1.csp.hci.ic.gov"),
            (.codeDeploy, "eusc-de-east-1", "https://codedeploy.eusc-de-east-1.amazonaws.eu"),
            (.sqs, "xx-fake-1", "https://sqs.xx-fake-1.amazonaws.com"),
            (.sqs, "aws-cn-global", "https://sqs.aws-cn-global.amazonaws.com"),
            (.sqs, "CN-north-1", "https://sqs.CN-north-1.amazonaws.com"),
            (.s3, nil, "https://s3.amazonaws.com"),
            (.sts, nil, "https://sts.amazonaws.com"),
            (.sqs, nil, nil),
        ]
        for (service, region, url) in expectations {
            #expect(DefaultEndpoint.url(for: service, region: region) == url, "\(service) in \(region ?? "no region")")
        }
    }

    @Test func noRegionAtAll() throws {
        let resolver = try resolve(environment: ["AWS_ENDPOINT_URL_LAMBDA": "http://lambda"])
        let s3 = resolver.endpoint(for: .s3)
        #expect([s3.endpointURL, s3.region] == ["https://s3.amazonaws.com", "us-east-1"])
        #expect([s3.endpointSource, s3.regionSource] == [.default, .default])
        let sts = resolver.endpoint(for: .sts)
        #expect([sts.endpointURL, sts.region] == ["https://sts.amazonaws.com", "us-east-1"])
        let sqs = resolver.endpoint(for: .sqs)
        #expect(sqs.endpointURL == nil && sqs.region == nil)
        #expect([sqs.endpointSource, sqs.regionSource] == [.unresolved, .unresolved])
        let lambda = resolver.endpoint(for: .lambda)
        #expect(lambda.endpointURL == "http://lambda" && lambda.region == nil)
        #expect(lambda.regionSource.description == "none")
    }

    @Test func explainJSON() throws {
        let resolver = try resolve(
            environment: ["AWS_PROFILE": "dev", "AWS_ENDPOINT_URL_S3": "http://localhost:4567", "AWS_REGION": "us-east-1"],
            config: everyEndpointSource + "\naws_secret_access_key = SECRET\n",
            toml: { $0.cloud.aws.sts.endpointURL = "http://sts" })
        let explained = resolver.explain()
        func entry(_ url: String, _ source: String) -> JSONValue {
            ["endpointUrl": .string(url), "endpointSource": .string(source), "region": "us-east-1", "regionSource": "env:AWS_REGION"]
        }
        let profile = entry("http://profile", "profile:dev")
        let expected: JSONValue = [
            "provider": "aws",
            "profile": "dev",
            "services": [
                "s3": entry("http://localhost:4567", "env:AWS_ENDPOINT_URL_S3"),
                "sqs": profile, "secrets_manager": profile, "lambda": profile, "cloudwatch": profile,
                "sns": profile, "codedeploy": profile,
                "sts": entry("http://sts", "config:cloud.aws.sts.endpoint_url"),
                "dynamodb": profile,
            ],
        ]
        #expect(explained == expected)
        #expect(
            explained["services"]?.objectValue?.keys
                == ["s3", "sqs", "secrets_manager", "lambda", "cloudwatch", "sns", "codedeploy", "sts", "dynamodb"])
        #expect(!explained.jsonString.contains("SECRET"))
    }

    @Test func explainNulls() throws {
        let explained = try resolve().explain()
        #expect(explained["services"]?["sqs"] == ["endpointUrl": nil, "endpointSource": "none", "region": nil, "regionSource": "none"])
        #expect(explained.jsonString.hasPrefix(
            #"{"provider":"aws","profile":"default","services":{"s3":{"endpointUrl":"https://s3.amazonaws.com","#
                + #""endpointSource":"default","region":"us-east-1","regionSource":"default"}"#))
    }
}

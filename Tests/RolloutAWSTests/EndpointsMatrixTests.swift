import AWSConfig
import RolloutCore
import Testing
@testable import RolloutAWS

/// Runs the resolver over `tests/endpoints/matrix.json`, which
/// `tests/endpoints/test_botocore_matrix.py` generates from botocore and keeps current:
/// every case must give botocore's endpoint URL and region for every service, or the same
/// error.
@Suite("Endpoint resolution matches botocore")
struct EndpointsMatrixTests {
    /// The repository root is three levels above this file (`Tests/RolloutAWSTests/`).
    static let fixture = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3)
        .joined(separator: "/") + "/tests/endpoints/matrix.json"

    @Test func everyCaseMatchesBotocore() throws {
        let bytes = try #require(RegularFile.contents(atPath: Self.fixture), "missing \(Self.fixture)")
        let matrix = try JSONParser.parse(bytes)
        let cases = try #require(matrix["cases"]?.arrayValue)
        #expect(cases.count >= 200)
        var compared = 0
        for testCase in cases {
            compared += try check(testCase)
        }
        #expect(compared >= 150 * AWSService.allCases.count)
    }

    /// Checks one case; returns how many service answers were compared.
    private func check(_ testCase: JSONValue) throws -> Int {
        let id = testCase["id"]?.int64Value ?? -1
        let expected = try #require(testCase["expected"])
        let comment = Comment(rawValue: "case \(id)")
        let sharedConfig: SharedConfigFile
        do {
            let config = try SharedConfigFile(parsing: testCase["config"]?.stringValue ?? "", kind: .config)
            let credentials = try SharedConfigFile(parsing: testCase["credentials"]?.stringValue ?? "", kind: .credentials)
            sharedConfig = config.merging(credentials: credentials)
        } catch {
            #expect(expected["error"] == "configParse", comment)
            return 0
        }
        let resolver: EndpointResolver
        do {
            resolver = try EndpointResolver(
                configuration: configuration(testCase["toml"]),
                environment: environment(testCase["env"]),
                sharedConfig: sharedConfig)
        } catch {
            #expect(expected["error"]?.stringValue == error.code.rawValue, comment)
            #expect(expected["service"]?.stringValue == error.service?.explainKey, comment)
            return 0
        }
        let services = try #require(expected["services"], "expected \(expected), got answers; \(comment)")
        for service in AWSService.allCases {
            let answer = resolver.endpoint(for: service)
            let botocore = services[service.explainKey]
            #expect(botocore?["endpointUrl"] == answer.endpointURL.map(JSONValue.string), "\(comment) \(service)")
            #expect(botocore?["region"] == answer.region.map(JSONValue.string), "\(comment) \(service)")
        }
        return AWSService.allCases.count
    }

    private func configuration(_ toml: JSONValue?) -> Configuration {
        var configuration = Configuration()
        configuration.cloud.provider = .aws
        configuration.cloud.region = toml?["region"]?.stringValue
        configuration.cloud.aws.profile = toml?["profile"]?.stringValue
        for (key, url) in toml?["endpoints"]?.objectValue ?? [:] {
            let url = url.stringValue
            switch AWSService.allCases.first(where: { $0.explainKey == key }) {
            case .s3: configuration.cloud.aws.s3.endpointURL = url
            case .sqs: configuration.cloud.aws.sqs.endpointURL = url
            case .secretsManager: configuration.cloud.aws.secrets.endpointURL = url
            case .lambda: configuration.cloud.aws.lambda.endpointURL = url
            case .cloudWatch: configuration.cloud.aws.cloudwatch.endpointURL = url
            case .sns: configuration.cloud.aws.sns.endpointURL = url
            case .codeDeploy: configuration.cloud.aws.codedeploy.endpointURL = url
            case .sts: configuration.cloud.aws.sts.endpointURL = url
            case .dynamoDB: configuration.fleet.endpointURL = url
            case nil: Issue.record("unknown service \(key)")
            }
        }
        return configuration
    }

    private func environment(_ env: JSONValue?) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in env?.objectValue ?? [:] {
            result[name] = value.stringValue
        }
        return result
    }
}

#if AWS
import CurlHTTP
import Foundation
import Logging
import RolloutAWS
import RolloutCore
import RolloutLocal

/// The AWS provider's capabilities, assembled from the configuration, the environment and the
/// shared AWS config files: one credential chain, one libcurl client, one signed client per
/// service at its resolved endpoint and region.
struct AWSServices {
    let resolver: EndpointResolver
    let credentials: CredentialChain
    let secrets: (any SecretStore)?
    let compute: any ComputeHintProvider
    let details: [HealthBoard.Capability: String]

    init(_ configuration: Configuration, environment: [String: String], logger: Logger) throws {
        let aws = configuration.cloud.aws
        let profile = SharedConfigFile.activeProfileName(configuredProfile: aws.profile, environment: environment)
        let configFile: SharedConfigFile
        let credentialsFile: SharedConfigFile
        do {
            configFile = try SharedConfigFile.read(.config, environment: environment)
            credentialsFile = try SharedConfigFile.read(.credentials, environment: environment)
        } catch {
            throw Daemon.StartupError(description: "cannot read the AWS shared config files: \(error)")
        }
        do {
            resolver = try EndpointResolver(configuration: configuration, environment: environment, sharedConfig: configFile)
        } catch {
            throw Daemon.StartupError(description: "cannot resolve AWS endpoints: \(error)")
        }
        let http = CurlHTTPClient()
        let sts = STSEndpoint(resolver.endpoint(for: .sts)) ?? STSEndpoint(url: "https://sts.amazonaws.com", region: "us-east-1")
        credentials = CredentialChain(
            environment: environment, profileName: profile, configFile: configFile, credentialsFile: credentialsFile,
            httpClient: http, sts: sts, imdsSession: nil
        )
        let retry = RetryPolicy.standard(maxAttempts: aws.maxAttempts)
        let secretsEndpoint = resolver.endpoint(for: .secretsManager)
        if let url = secretsEndpoint.endpointURL, let region = secretsEndpoint.region {
            let client = try AWSClient(
                service: .secretsManager, endpointURL: url, region: region, credentials: credentials, http: http, retryPolicy: retry
            )
            secrets = SecretsManagerStore(client: client, allowlist: aws.secrets.allowlist, cacheTTLSecs: aws.secrets.cacheTTLSecs)
        } else {
            logger.warning("secret.get is unavailable: no region for Secrets Manager")
            secrets = nil
        }
        let imds = IMDSSession.isDisabled(environment: environment)
            ? nil : IMDSSession(environment: environment, httpClient: http, tokenTTLSeconds: aws.imds.tokenTTLSecs)
        compute = IMDSComputeHint(session: imds, fallback: LocalComputeHint()) { Date().timeIntervalSince1970 }
        details = [
            .secrets: secretsEndpoint.endpointURL ?? "no region",
            .compute: imds.map { "IMDSv2 at \($0.endpoint)" } ?? "IMDS disabled",
            .objectStore: aws.s3.bucket.map { "s3://\($0)/\(aws.s3.prefix ?? "")" } ?? "no bucket configured",
            .queue: aws.sqs.queueURL ?? "no queue configured",
        ]
    }

    /// `sys.health.credentials`.
    var credentialStatus: (source: String, expiresAt: Double?)? {
        credentials.currentSource.map { ($0, credentials.expiresAt) }
    }
}

#endif

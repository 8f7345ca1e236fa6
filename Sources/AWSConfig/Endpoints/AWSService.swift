/// The AWS services the daemon calls, with the names each one goes by.
public enum AWSService: String, CaseIterable, Sendable {
    /// Amazon S3: the object store.
    case s3
    /// Amazon SQS: the queue.
    case sqs
    /// AWS Secrets Manager: secrets.
    case secretsManager
    /// AWS Lambda: rollouts shift alias weights.
    case lambda
    /// Amazon CloudWatch: rollout alarms.
    case cloudWatch
    /// Amazon SNS: notifications.
    case sns
    /// AWS CodeDeploy: the `codedeploy` rollout engine.
    case codeDeploy
    /// AWS STS: assuming roles.
    case sts
    /// Amazon DynamoDB: fleet mode's shared state (`[fleet]`, SPEC §11).
    case dynamoDB

    /// The `serviceId` of the service's API model (`Secrets Manager`), from which the
    /// environment and config-file names are derived.
    public var serviceID: String {
        switch self {
        case .s3: "S3"
        case .sqs: "SQS"
        case .secretsManager: "Secrets Manager"
        case .lambda: "Lambda"
        case .cloudWatch: "CloudWatch"
        case .sns: "SNS"
        case .codeDeploy: "CodeDeploy"
        case .sts: "STS"
        case .dynamoDB: "DynamoDB"
        }
    }

    /// The service id upper-cased with spaces turned into underscores (`SECRETS_MANAGER`):
    /// the suffix of `AWS_ENDPOINT_URL_<SUFFIX>` and `AWS_REGION_<SUFFIX>`.
    public var environmentSuffix: String {
        snakeCaseID.uppercased()
    }

    /// The service id lower-cased with spaces turned into underscores (`secrets_manager`):
    /// the key of the service's sub-section inside a `[services NAME]` section.
    public var servicesSectionKey: String {
        snakeCaseID.lowercased()
    }

    /// The service's key in `rolloutctl config explain --json` (SPEC §2.1), which SPEC makes
    /// the same as ``servicesSectionKey``.
    public var explainKey: String {
        servicesSectionKey
    }

    /// The name the service signs requests with in SigV4 credential scopes.
    public var signingName: String {
        switch self {
        case .s3: "s3"
        case .sqs: "sqs"
        case .secretsManager: "secretsmanager"
        case .lambda: "lambda"
        case .cloudWatch: "monitoring"
        case .sns: "sns"
        case .codeDeploy: "codedeploy"
        case .sts: "sts"
        case .dynamoDB: "dynamodb"
        }
    }

    /// The first label of the service's default host name (`monitoring.us-west-2.amazonaws.com`).
    public var endpointPrefix: String {
        signingName
    }

    /// `AWS_ENDPOINT_URL_<SUFFIX>`.
    public var endpointURLVariable: String {
        "AWS_ENDPOINT_URL_" + environmentSuffix
    }

    /// `AWS_REGION_<SUFFIX>`: SPEC §2.1's service-specific region variable (no AWS SDK reads it).
    public var regionVariable: String {
        "AWS_REGION_" + environmentSuffix
    }

    /// The TOML table that holds the service's settings, without the `config:` prefix
    /// (`cloud.aws.secrets` for Secrets Manager, `fleet` for DynamoDB).
    var configurationTable: String {
        switch self {
        case .secretsManager: "cloud.aws.secrets"
        case .dynamoDB: "fleet"
        default: "cloud.aws." + servicesSectionKey
        }
    }

    private var snakeCaseID: String {
        String(serviceID.map { $0 == " " ? "_" : $0 })
    }
}

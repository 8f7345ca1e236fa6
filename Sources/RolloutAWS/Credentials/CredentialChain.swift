public import AWSSigV4
public import CurlHTTP
import RolloutCore
import Synchronization

/// The credential chain (SPEC §2.2): the first provider that yields credentials wins; they are
/// cached, and refreshed — by one shared fetch however many callers ask at once — when less
/// than ``refreshBeforeExpiry`` (5 minutes) of their lifetime is left.
///
/// Order: `env`, `web-identity`, the shared files' profile (`profile` or `assume-role`),
/// `container`, `imds`. A provider that is configured but fails stops the chain with its
/// error; when none is configured, ``credentials()`` throws `ConfigInvalid` listing every
/// source tried and how to configure it (never a value).
///
/// A refresh asks the provider that won last time first, and the whole chain when it no
/// longer yields credentials. If a refresh fails while the cached credentials are still valid
/// for at least a minute, those are returned and the next call tries again.
public final class CredentialChain: Sendable {
    /// A provider and the hint listed when the chain finds no credentials.
    struct Entry: Sendable {
        var provider: any CredentialProvider
        var hint: String
    }

    /// Credentials are refreshed when they expire in less than this many seconds (300).
    public let refreshBeforeExpiry: Double
    /// The IMDS session the chain's `imds` provider uses, for reuse (nil when IMDS is disabled
    /// or the chain was built from a provider list).
    public let imdsSession: IMDSSession?

    private let entries: [Entry]
    private let now: @Sendable () -> Double
    private let state = Mutex<State>(State())

    private struct Current: Sendable {
        var credentials: AWSCredentials
        var source: String
        var providerIndex: Int
    }

    private struct State {
        var current: Current?
        var refresh: Task<AWSCredentials, any Error>?
    }

    /// The standard chain.
    ///
    /// - Parameters:
    ///   - environment: the process environment (`AWS_*` variables).
    ///   - profileName: the active profile
    ///     (``SharedConfigFile/activeProfileName(configuredProfile:environment:)``).
    ///   - configFile: the shared config file, ``SharedConfigFile/read(_:environment:)`` `.config`.
    ///   - credentialsFile: the shared credentials file, read separately (`.credentials`).
    ///   - httpClient: for STS, the container endpoint and IMDS.
    ///   - sts: the STS endpoint and signing region (``STSEndpoint/init(_:)``).
    ///   - imdsSession: the IMDS session to use; by default one on the endpoint `environment`
    ///     selects, none when `AWS_EC2_METADATA_DISABLED=true`.
    ///   - refreshBeforeExpiry: the refresh window in seconds.
    ///   - now: the clock expiry is judged by (seconds since the epoch); tests inject one.
    public convenience init(
        environment: [String: String],
        profileName: String,
        configFile: SharedConfigFile,
        credentialsFile: SharedConfigFile,
        httpClient: any HTTPClient,
        sts: STSEndpoint,
        imdsSession: IMDSSession? = nil,
        refreshBeforeExpiry: Double = 300,
        now: @escaping @Sendable () -> Double = CredentialsClock.now
    ) {
        let stsClient = STSClient(endpoint: sts, httpClient: httpClient)
        let session = IMDSSession.isDisabled(environment: environment)
            ? nil : imdsSession ?? IMDSSession(environment: environment, httpClient: httpClient)
        let merged = configFile.merging(credentials: credentialsFile)
        let imdsHint = session.map { "imds (EC2 instance role via IMDSv2 at \($0.endpoint): no answer or no role)" }
            ?? "imds (disabled by AWS_EC2_METADATA_DISABLED)"
        let entries = [
            Entry(
                provider: EnvironmentCredentialProvider(environment: environment),
                hint: "env (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"),
            Entry(
                provider: WebIdentityCredentialProvider(
                    environment: environment, profileName: profileName, profile: merged.profiles[profileName], sts: stsClient),
                hint: "web-identity (set AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN)"),
            Entry(
                provider: ProfileCredentialProvider(
                    profileName: profileName, configFile: configFile, credentialsFile: credentialsFile,
                    environment: environment, sts: stsClient, imdsSession: session),
                hint: "profile \(profileName) (aws_access_key_id/aws_secret_access_key or role_arn + source_profile in "
                    + "\(SharedConfigFile.credentialsFilePath(environment: environment)) or "
                    + "\(SharedConfigFile.configFilePath(environment: environment)))"),
            Entry(
                provider: ContainerCredentialProvider(environment: environment, httpClient: httpClient),
                hint: "container (set AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI)"),
            Entry(provider: IMDSCredentialProvider(session: session), hint: imdsHint),
        ]
        self.init(entries: entries, imdsSession: session, refreshBeforeExpiry: refreshBeforeExpiry, now: now)
    }

    /// A chain over `providers`, tried in order.
    public convenience init(
        providers: [any CredentialProvider],
        refreshBeforeExpiry: Double = 300,
        now: @escaping @Sendable () -> Double = CredentialsClock.now
    ) {
        self.init(
            entries: providers.map { Entry(provider: $0, hint: $0.source) }, imdsSession: nil,
            refreshBeforeExpiry: refreshBeforeExpiry, now: now)
    }

    init(entries: [Entry], imdsSession: IMDSSession?, refreshBeforeExpiry: Double, now: @escaping @Sendable () -> Double) {
        self.entries = entries
        self.imdsSession = imdsSession
        self.refreshBeforeExpiry = refreshBeforeExpiry
        self.now = now
    }

    /// The sources in the order they are tried.
    public var sources: [String] {
        entries.map(\.provider.source)
    }

    /// The source of the cached credentials (`env`, `web-identity`, `profile`, `assume-role`,
    /// `container`, `imds`), for `sys.health`; nil before the first success.
    public var currentSource: String? {
        state.withLock { $0.current?.source }
    }

    /// When the cached credentials expire (seconds since the epoch); nil when they do not, or
    /// before the first success.
    public var expiresAt: Double? {
        state.withLock { $0.current?.credentials.expiration }
    }

    /// Valid credentials: the cached ones while more than ``refreshBeforeExpiry`` of their
    /// lifetime is left, else freshly fetched ones. Concurrent callers share one fetch.
    ///
    /// - Throws: the ``RolloutError`` of a configured source that failed, or `ConfigInvalid`
    ///   when no source is configured.
    public func credentials() async throws -> AWSCredentials {
        let now = self.now()
        enum Next {
            case ready(AWSCredentials)
            case wait(Task<AWSCredentials, any Error>)
        }
        let next: Next = state.withLock { state in
            if let current = state.current, !needsRefresh(current.credentials, now: now) {
                return .ready(current.credentials)
            }
            if let refresh = state.refresh { return .wait(refresh) }
            let previous = state.current
            let task = Task { try await self.refresh(previous: previous) }
            state.refresh = task
            return .wait(task)
        }
        switch next {
        case .ready(let credentials): return credentials
        case .wait(let task): return try await task.value
        }
    }

    /// Drops the cached credentials, so the next ``credentials()`` fetches new ones (after an
    /// `ExpiredToken` from a service, say). A fetch already running is not affected.
    public func invalidate() {
        state.withLock { $0.current = nil }
    }

    // MARK: Internals

    private func needsRefresh(_ credentials: AWSCredentials, now: Double) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return expiration - now < refreshBeforeExpiry
    }

    /// Runs inside the shared task: resolves, then publishes the result and clears the task.
    private func refresh(previous: Current?) async throws -> AWSCredentials {
        let result: Result<Current, any Error>
        do {
            result = .success(try await resolve(preferring: previous?.providerIndex))
        } catch {
            result = .failure(error)
        }
        let now = self.now()
        return try state.withLock { (state: inout State) throws -> AWSCredentials in
            state.refresh = nil
            switch result {
            case .success(let current):
                state.current = current
                return current.credentials
            case .failure(let error):
                if let previous, let expiration = previous.credentials.expiration, expiration - now >= 60 {
                    return previous.credentials
                }
                throw error
            }
        }
    }

    private func resolve(preferring preferred: Int?) async throws -> Current {
        if let preferred {
            let provider = entries[preferred].provider
            if let credentials = try await provider.load() {
                return Current(credentials: credentials, source: provider.source, providerIndex: preferred)
            }
        }
        for (index, entry) in entries.enumerated() where index != preferred {
            try Task.checkCancellation()
            if let credentials = try await entry.provider.load() {
                return Current(credentials: credentials, source: entry.provider.source, providerIndex: index)
            }
        }
        throw RolloutError(
            .configInvalid,
            "no AWS credentials found; tried, in order: " + entries.map(\.hint).joined(separator: "; "))
    }
}

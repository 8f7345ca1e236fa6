public import AWSConfig
public import AWSSigV4
public import CurlHTTP
public import RolloutCore
import RolloutSystem
import Synchronization

/// The credential chain (SPEC §2.2): the first provider that yields credentials wins; they are
/// cached, and refreshed — by one shared fetch however many callers ask at once — when less
/// than ``refreshBeforeExpiry`` (5 minutes) of their lifetime is left.
///
/// Order, botocore's (`create_credential_resolver` with `ProfileProviderBuilder.providers`):
/// `env`, `assume-role`, `web-identity`, `sso`, `shared-credentials-file`, `process`,
/// `config-file`, `container`, `imds`. As in botocore, a profile named explicitly
/// (`[cloud.aws] profile`, like `aws --profile`) drops `env` and the web identity
/// environment variables. A provider that is configured but fails stops the chain with its
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

    /// What ``health(failureTTL:wait:)`` found.
    public enum Health: Sendable, Equatable {
        /// Credentials are at hand, from `source`, expiring at `expiresAt` (seconds since the
        /// epoch) when they expire at all.
        case available(source: String, expiresAt: Double?)
        /// No credentials can be had: the chain's error.
        case unavailable(RolloutError)
        /// The first look for credentials is still running.
        case pending
    }

    /// Credentials are refreshed when they expire in less than this many seconds (300).
    public let refreshBeforeExpiry: Double
    /// The IMDS session the chain's `imds` provider uses, for reuse (nil when IMDS is disabled
    /// or the chain was built from a provider list).
    public let imdsSession: IMDSSession?
    /// The sources in the order they are tried.
    public let sources: [String]

    /// The providers, built again from the shared files each time the chain looks for
    /// credentials (so a profile written after startup is found).
    private let entries: @Sendable () async throws -> [Entry]
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
        /// The last resolution's error and when it ended; cleared by a success.
        var failure: (error: RolloutError, at: Double)?
    }

    /// The standard chain over shared files already read.
    ///
    /// - Parameters:
    ///   - environment: the process environment (`AWS_*` variables, `HOME`).
    ///   - profileName: the active profile
    ///     (``SharedConfigFile/activeProfileName(configuredProfile:environment:)``).
    ///   - configFile: the shared config file, ``SharedConfigFile/read(_:environment:)`` `.config`.
    ///   - credentialsFile: the shared credentials file, read separately (`.credentials`).
    ///   - explicitProfile: the profile was named in the daemon's configuration, not by
    ///     `AWS_PROFILE` or by default: `env` and the web identity variables are skipped.
    ///   - httpClient: for STS, IAM Identity Center, the container endpoint and IMDS.
    ///   - sts: the STS endpoint and signing region (``STSEndpoint/init(_:)``).
    ///   - imdsSession: the IMDS session to use; by default one on the endpoint `environment`
    ///     selects, none when `AWS_EC2_METADATA_DISABLED=true`.
    ///   - processTimeout: how long a `credential_process` may run.
    ///   - refreshBeforeExpiry: the refresh window in seconds.
    ///   - now: the clock expiry is judged by (seconds since the epoch); tests inject one.
    public convenience init(
        environment: [String: String],
        profileName: String,
        configFile: SharedConfigFile,
        credentialsFile: SharedConfigFile,
        explicitProfile: Bool = false,
        httpClient: any HTTPClient,
        sts: STSEndpoint,
        imdsSession: IMDSSession? = nil,
        processTimeout: Duration = .seconds(60),
        refreshBeforeExpiry: Double = 300,
        now: @escaping @Sendable () -> Double = CredentialsClock.now
    ) {
        let files = SharedCredentialFiles(config: configFile, credentials: credentialsFile)
        self.init(
            environment: environment, profileName: profileName, explicitProfile: explicitProfile, sharedFiles: { files },
            httpClient: httpClient, sts: sts, imdsSession: imdsSession, processTimeout: processTimeout,
            refreshBeforeExpiry: refreshBeforeExpiry, now: now)
    }

    /// The standard chain, reading the shared config and credentials files named by
    /// `environment` again (off the cooperative pool) each time it looks for credentials: a
    /// daemon started before `aws configure` or `aws sso login` finds them without a restart.
    /// Cached credentials are kept until they need a refresh, as always.
    ///
    /// The parameters are those of
    /// ``init(environment:profileName:configFile:credentialsFile:explicitProfile:httpClient:sts:imdsSession:processTimeout:refreshBeforeExpiry:now:)``.
    public convenience init(
        environment: [String: String],
        profileName: String,
        explicitProfile: Bool = false,
        httpClient: any HTTPClient,
        sts: STSEndpoint,
        imdsSession: IMDSSession? = nil,
        processTimeout: Duration = .seconds(60),
        refreshBeforeExpiry: Double = 300,
        now: @escaping @Sendable () -> Double = CredentialsClock.now
    ) {
        self.init(
            environment: environment, profileName: profileName, explicitProfile: explicitProfile,
            sharedFiles: {
                try await CredentialIO.shared.run { _ throws(RolloutError) in
                    try SharedCredentialFiles.read(environment: environment)
                }
            },
            httpClient: httpClient, sts: sts, imdsSession: imdsSession, processTimeout: processTimeout,
            refreshBeforeExpiry: refreshBeforeExpiry, now: now)
    }

    private convenience init(
        environment: [String: String],
        profileName: String,
        explicitProfile: Bool,
        sharedFiles: @escaping @Sendable () async throws -> SharedCredentialFiles,
        httpClient: any HTTPClient,
        sts: STSEndpoint,
        imdsSession: IMDSSession?,
        processTimeout: Duration,
        refreshBeforeExpiry: Double,
        now: @escaping @Sendable () -> Double
    ) {
        let session = IMDSSession.isDisabled(environment: environment)
            ? nil : imdsSession ?? IMDSSession(environment: environment, httpClient: httpClient)
        let settings = CredentialSettings(
            environment: environment, activeProfile: profileName, sts: STSClient(endpoint: sts, httpClient: httpClient),
            imdsSession: session, processTimeout: processTimeout, now: now)
        let standard = StandardChain(settings: settings, explicitProfile: explicitProfile)
        self.init(
            sources: standard.entries(files: SharedCredentialFiles(config: .init(), credentials: .init())).map(\.provider.source),
            entries: { standard.entries(files: try await sharedFiles()) },
            imdsSession: session, refreshBeforeExpiry: refreshBeforeExpiry, now: now)
    }

    /// A chain over `providers`, tried in order.
    public convenience init(
        providers: [any CredentialProvider],
        refreshBeforeExpiry: Double = 300,
        now: @escaping @Sendable () -> Double = CredentialsClock.now
    ) {
        let entries = providers.map { Entry(provider: $0, hint: $0.source) }
        self.init(
            sources: providers.map(\.source), entries: { entries }, imdsSession: nil,
            refreshBeforeExpiry: refreshBeforeExpiry, now: now)
    }

    private init(
        sources: [String],
        entries: @escaping @Sendable () async throws -> [Entry],
        imdsSession: IMDSSession?,
        refreshBeforeExpiry: Double,
        now: @escaping @Sendable () -> Double
    ) {
        self.sources = sources
        self.entries = entries
        self.imdsSession = imdsSession
        self.refreshBeforeExpiry = refreshBeforeExpiry
        self.now = now
    }

    /// The source of the cached credentials (one of ``sources``), for `sys.health`; nil
    /// before the first success.
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

    /// Whether credentials can be had, for `sys.health`, without a look-up per call: cached
    /// credentials answer at once; a failure less than `failureTTL` seconds old is reported
    /// again; otherwise the chain looks (sharing the fetch of any concurrent caller), and
    /// when that takes longer than `wait` the last thing known is reported (``Health/pending``
    /// before the first result) while the fetch goes on.
    public func health(failureTTL: Double = 1, wait: Duration = .seconds(2)) async -> Health {
        let now = self.now()
        let known: Health? = state.withLock { state in
            if let current = state.current, !needsRefresh(current.credentials, now: now) {
                return .available(source: current.source, expiresAt: current.credentials.expiration)
            }
            guard let failure = state.failure, now - failure.at < failureTTL else { return nil }
            if let current = state.current, current.credentials.expiration.map({ $0 - now >= 60 }) ?? true {
                // The last refresh failed, but what it kept is still good for a while.
                return .available(source: current.source, expiresAt: current.credentials.expiration)
            }
            return .unavailable(failure.error)
        }
        if let known { return known }
        let race = HealthRace()
        return await withCheckedContinuation { continuation in
            race.start(continuation)
            let timer = Task {
                try? await Task.sleep(for: wait)
                race.finish(self.lastKnown)
            }
            Task {
                do {
                    _ = try await self.credentials()
                    race.finish(self.lastKnown)
                } catch {
                    race.finish(.unavailable(Self.rolloutError(error)))
                }
                timer.cancel()
            }
        }
    }

    /// Drops the cached credentials, so the next ``credentials()`` fetches new ones (after an
    /// `ExpiredToken` from a service, say). A fetch already running is not affected.
    public func invalidate() {
        state.withLock { $0.current = nil }
    }

    // MARK: Internals

    /// The cached credentials (even ones due for a refresh), else the last failure.
    private var lastKnown: Health {
        state.withLock { state in
            if let current = state.current {
                return .available(source: current.source, expiresAt: current.credentials.expiration)
            }
            return state.failure.map { .unavailable($0.error) } ?? .pending
        }
    }

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
                state.failure = nil
                return current.credentials
            case .failure(let error):
                state.failure = (Self.rolloutError(error), now)
                if let previous, let expiration = previous.credentials.expiration, expiration - now >= 60 {
                    return previous.credentials
                }
                throw error
            }
        }
    }

    private func resolve(preferring preferred: Int?) async throws -> Current {
        let entries = try await self.entries()
        if let preferred, preferred < entries.count {
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

    /// `error` as the chain reports it: a `RolloutError` as it is, anything else Unavailable.
    private static func rolloutError(_ error: any Error) -> RolloutError {
        if let error = error as? RolloutError { return error }
        if error is CancellationError { return .cancelled }
        return RolloutError(.unavailable, "AWS credentials could not be loaded: \(error)")
    }
}

/// The first of two outcomes of ``CredentialChain/health(failureTTL:wait:)`` (the look-up, or
/// the wait running out) resumes the caller; the other is dropped.
private final class HealthRace: Sendable {
    private let continuation = Mutex<CheckedContinuation<CredentialChain.Health, Never>?>(nil)

    func start(_ continuation: CheckedContinuation<CredentialChain.Health, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func finish(_ health: CredentialChain.Health) {
        continuation.withLock { $0.take() }?.resume(returning: health)
    }
}

import AWSConfig
import AWSSigV4
import CurlHTTP
import Glibc
import RolloutCore
import Testing
@testable import RolloutAWS

/// `credential_process` against tests/fixtures/credential_process_fake.py: success, quoting
/// without a shell, failures that never echo the output, expiry and re-runs, the time limit,
/// and what the program inherits.
@Suite("Credentials: credential_process")
struct CredentialsProcessTests {
    static let script = awsTestRepositoryRoot + "/tests/fixtures/credential_process_fake.py"

    /// A chain whose profile `tool` runs `arguments` (a `credential_process` line).
    static func chain(_ line: String, clock: CredentialsTestClock? = nil) throws -> (CredentialChain, CredentialsTempDirectory) {
        let directory = CredentialsTempDirectory()
        let config = directory.write("config", "[profile tool]\ncredential_process = \(line)\n")
        let environment = credentialsIsolatedEnvironment(["AWS_CONFIG_FILE": config, "AWS_PROFILE": "tool"], directory: directory)
        return (try credentialsChain(environment, clock: clock), directory)
    }

    @Test("credentials from the program; the line is split like shlex, with no shell")
    func success() async throws {
        let (chain, _) = try Self.chain(#"python3 \#(Self.script) ok --key "AKID QUOTED" --echo-args 'a;b' $HOME `id` "x\"y""#)
        let credentials = try await chain.credentials()
        #expect(chain.currentSource == "process")
        #expect(credentials.accessKeyId == "AKID QUOTED")
        #expect(credentials.secretAccessKey == "process-secret-value")
        #expect(credentials.expiration == nil)
        #expect(chain.expiresAt == nil)
        let arguments = try JSONParser.parse(Array((credentials.sessionToken ?? "").utf8)).arrayValue?.compactMap(\.stringValue)
        #expect(arguments == ["ok", "--key", "AKID QUOTED", "--echo-args", "a;b", "$HOME", "`id`", #"x"y"#])

        let (noToken, _) = try Self.chain("python3 \(Self.script) ok --no-token")
        #expect(try await noToken.credentials().sessionToken == nil)
    }

    @Test("non-zero exit, bad JSON, a wrong or missing Version, too much output: clear errors that never show the output")
    func failures() async throws {
        let cases: [(mode: String, code: ErrorCode, says: String, secrets: [String])] = [
            ("fail", .unavailable, "exited with status 3", ["stdout-secret-value", "stderr-secret-value", "AKIDFAIL"]),
            ("badjson", .configInvalid, "not a JSON object", ["badjson-secret-value", "AKIDBAD"]),
            ("version2", .configInvalid, "Version is not 1", ["version2-secret-value", "AKIDV2"]),
            ("noversion", .configInvalid, "without Version", ["noversion-secret-value", "AKIDNOVERSION"]),
            ("big", .configInvalid, "printed more than", ["xxxxxxxx"]),
        ]
        for (mode, code, says, secrets) in cases {
            let (chain, _) = try Self.chain("python3 \(Self.script) \(mode)")
            let error = await expectRolloutError { _ = try await chain.credentials() }
            #expect(error?.code == code, "\(mode)")
            #expect(error?.message.contains(says) == true, "\(mode): \(error?.message ?? "")")
            #expect(error?.message.contains("credential_process of AWS profile tool (python3)") == true, "\(mode)")
            if let error { expectNoSecrets(error, secrets) }
            #expect(chain.currentSource == nil)
        }

        let (missing, _) = try Self.chain("/nonexistent/credential-helper --flag secret-argument")
        let notFound = await expectRolloutError { _ = try await missing.credentials() }
        #expect(notFound?.code == .configInvalid)
        #expect(notFound?.message.contains("/nonexistent/credential-helper") == true)
        #expect(notFound?.message.contains("cannot be started") == true)
        if let notFound { expectNoSecrets(notFound, ["secret-argument"]) }

        let (unsplittable, _) = try Self.chain(#"python3 "unclosed"#)
        #expect(await expectRolloutError { _ = try await unsplittable.credentials() }?.message.contains("split into words") == true)
    }

    @Test("expiring credentials: cached while more than 5 minutes are left, then the program runs again")
    func expiryReruns() async throws {
        let start = CredentialsClock.now()
        let clock = CredentialsTestClock(start)
        let directory = CredentialsTempDirectory()
        let counter = directory.path + "/runs"
        let (chain, _) = try Self.chain("python3 \(Self.script) ok --key AKIDRUN --counter \(counter) --expires-in 900", clock: clock)
        let first = try await chain.credentials()
        #expect(first.accessKeyId == "AKIDRUN1")
        let expiration = try #require(first.expiration)
        #expect(abs(expiration - (start + 900)) < 60)
        #expect(chain.expiresAt == expiration)

        clock.set(start + 300)
        #expect(try await chain.credentials().accessKeyId == "AKIDRUN1")
        // Less than 5 minutes left: run again; concurrent callers share the one run.
        clock.set(expiration - 200)
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await chain.credentials().accessKeyId } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(keys == Array(repeating: "AKIDRUN2", count: 8))
        #expect(chain.currentSource == "process")
    }

    @Test("a program that runs too long is killed with everything it started")
    func timeout() async throws {
        let directory = CredentialsTempDirectory()
        let pidFile = directory.path + "/grandchild"
        let profile = SharedConfigSection(["credential_process": .string("python3 \(Self.script) hang \(pidFile)")])
        let provider = ProcessCredentialProvider(profileName: "slow", profile: profile, environment: [:], timeout: .seconds(4))
        let started = ContinuousClock.now
        let error = await expectRolloutError { _ = try await provider.load() }
        // The program would sleep 60 s: ending well before that means it was killed (the bound is
        // loose because a loaded test machine delays everything).
        #expect(ContinuousClock.now - started < .seconds(45))
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("did not finish within") == true)
        let grandchild = try #require(RegularFile.contents(atPath: pidFile).flatMap { Int32(String(decoding: $0, as: UTF8.self)) })
        // The process group was killed: the grandchild is gone (or a zombie waiting for init).
        var alive = kill(grandchild, 0) == 0
        if alive, let stat = RegularFile.contents(atPath: "/proc/\(grandchild)/stat") {
            alive = !String(decoding: stat, as: UTF8.self).contains(") Z ")
        }
        for _ in 0..<500 where alive {
            try await Task.sleep(for: .milliseconds(20))
            alive = kill(grandchild, 0) == 0
                && RegularFile.contents(atPath: "/proc/\(grandchild)/stat").map { !String(decoding: $0, as: UTF8.self).contains(") Z ") } == true
        }
        #expect(!alive)
    }

    @Test("the program inherits only stdin (/dev/null), stdout and stderr, even descriptors opened without O_CLOEXEC")
    func inheritsNothingElse() async throws {
        let leaky = open("/dev/null", O_RDONLY)
        defer { close(leaky) }
        #expect(leaky > 2)
        let (chain, _) = try Self.chain("python3 \(Self.script) inspect")
        let credentials = try await chain.credentials()
        #expect(credentials.sessionToken == "fds=0,1,2;stdin=/dev/null")
    }

    @Test("the profile providers' order: credentials-file keys beat credential_process, which beats config-file keys")
    func orderAroundProcess() async throws {
        let directory = CredentialsTempDirectory()
        let config = directory.write(
            "config",
            """
            [profile both]
            credential_process = python3 \(Self.script) ok --key AKIDFROMPROCESS
            aws_access_key_id = AKIDCONFIGFILE
            aws_secret_access_key = config-file-secret
            [profile creds]
            credential_process = python3 \(Self.script) ok --key AKIDFROMPROCESS
            """)
        let credentials = directory.write(
            "credentials", "[creds]\naws_access_key_id = AKIDCREDSFILE\naws_secret_access_key = creds-file-secret\n")
        let base = credentialsIsolatedEnvironment(
            ["AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials], directory: directory)
        let both = try credentialsChain(base, profile: "both")
        #expect(try await both.credentials().accessKeyId == "AKIDFROMPROCESS")
        #expect(both.currentSource == "process")
        let creds = try credentialsChain(base, profile: "creds")
        #expect(try await creds.credentials().accessKeyId == "AKIDCREDSFILE")
        #expect(creds.currentSource == "shared-credentials-file")
    }
}

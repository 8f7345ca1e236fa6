@testable import AWSConfig
import Testing
@testable import RolloutAWS

private func config(_ text: String) throws -> SharedConfigFile {
    try SharedConfigFile(parsing: text, kind: .config)
}

private func parseError(_ text: String, kind: SharedConfigFile.Kind = .config) -> SharedConfigParseError? {
    do {
        _ = try SharedConfigFile(parsing: text, kind: kind, path: "/home/u/.aws/config")
        return nil
    } catch {
        return error
    }
}

@Suite("Shared config parsing")
struct SharedConfigTests {
    @Test func profilesAndKeySyntax() throws {
        let file = try config(
            """
            [default]
            region = us-west-2
            [profile dev]
            Region=eu-west-1
            ENDPOINT_URL:   http://localhost:4566  
            output =
            """)
        #expect(file.profiles["default"]?.region == "us-west-2")
        #expect(file.profiles["dev"]?.region == "eu-west-1")
        #expect(file.profiles["dev"]?.endpointURL == "http://localhost:4566")
        #expect(file.profiles["dev"]?["output"] == .string(""))
        #expect(file.profiles.count == 2)
    }

    @Test func commentsAreWholeLinesOnly() throws {
        let file = try config(
            """
            # leading comment
            ; another
            [default]
              # indented comment
            region = us-west-2 # not a comment
            endpoint_url = http://x;y
            """)
        let profile = try #require(file.profiles["default"])
        #expect(profile.region == "us-west-2 # not a comment")
        #expect(profile.endpointURL == "http://x;y")
        #expect(profile.values.count == 2)
    }

    @Test func indentedSubProperties() throws {
        let file = try config(
            """
            [services local]
            endpoint_url = http://ignored
            s3 =
              endpoint_url = http://localhost:4566
              Addressing_Style=path

              # a comment inside
            secrets_manager =
            \tendpoint_url = http://localhost:4567
            sqs =
            """)
        let section = try #require(file.services["local"])
        #expect(section.subsection("s3") == ["endpoint_url": "http://localhost:4566", "Addressing_Style": "path"])
        #expect(section.subsection("secrets_manager") == ["endpoint_url": "http://localhost:4567"])
        #expect(section["sqs"] == .string(""))
        #expect(section.string("endpoint_url") == "http://ignored")
        #expect(section.string("s3") == nil)
    }

    @Test func indentedLinesContinueAPlainValue() throws {
        let file = try config("[default]\nregion = us-west-2\n  more\n\n   still\n\n")
        #expect(file.profiles["default"]?.region == "us-west-2\nmore\n\nstill")
    }

    @Test(arguments: [
        ("[profile default]\nregion = a\n[default]\nregion = b\n", "b"),
        ("[default]\nregion = b\n[profile default]\nregion = a\n", "a"),
    ])
    func theLaterOfDefaultAndProfileDefaultWins(text: String, region: String) throws {
        #expect(try config(text).profiles["default"]?.region == region)
    }

    @Test func sectionNamesAreSplitLikeAShell() throws {
        let file = try config(
            """
            [profile "my dev"]
            region = a
            [profile]
            region = b
            [profile a b]
            region = c
            [profilex quirk]
            region = d
            [profile 'unclosed]
            region = e
            [Profile upper]
            region = f
            [sso-session corp]
            sso_region = us-east-1
            [services   spaced  ]
            s3 =
              endpoint_url = http://s
            [plugins]
            x = y
            [ default ]
            region = g
            """)
        #expect(Set(file.profiles.keys) == ["my dev", "quirk"])
        #expect(file.ssoSessions["corp"]?.string("sso_region") == "us-east-1")
        #expect(file.services["spaced"]?.subsection("s3")?["endpoint_url"] == "http://s")
        #expect(Set(file.otherSections.keys) == ["Profile upper", "plugins", " default "])
    }

    @Test func shellWords() {
        #expect(PythonText.shellWords(#"profile "a b""#) == ["profile", "a b"])
        #expect(PythonText.shellWords(#"profile 'x "y"'"#) == ["profile", #"x "y""#])
        #expect(PythonText.shellWords(#"profile a\ b"#) == ["profile", "a b"])
        #expect(PythonText.shellWords(#"profile "a\"b\c""#) == ["profile", #"a"b\c"#])
        #expect(PythonText.shellWords(#"profile """#) == ["profile", ""])
        #expect(PythonText.shellWords("profile \"open") == nil)
        #expect(PythonText.shellWords("profile x\\") == nil)
    }

    @Test func defaultSectionFillsEverySection() throws {
        let file = try config(
            """
            [DEFAULT]
            region = eu-north-1
            [profile dev]
            endpoint_url = http://d
            [profile ci]
            region = us-west-2
            [services empty]
            """)
        #expect(file.profiles["dev"]?.region == "eu-north-1")
        #expect(file.profiles["ci"]?.region == "us-west-2")
        #expect(file.services["empty"]?.region == "eu-north-1")
        #expect(file.profiles["DEFAULT"] == nil)
    }

    @Test func credentialsFileSectionsAreProfilesAsWritten() throws {
        let credentials = try SharedConfigFile(
            parsing: "[default]\naws_access_key_id = AKID\n[profile dev]\nregion = x\n", kind: .credentials)
        #expect(Set(credentials.profiles.keys) == ["default", "profile dev"])
        #expect(credentials.services.isEmpty)
    }

    @Test func credentialsOverrideConfigKeyByKey() throws {
        let merged = try config("[default]\nregion = eu-west-1\noutput = json\n[profile dev]\nregion = a\n")
            .merging(credentials: SharedConfigFile(
                parsing: "[default]\nregion = eu-south-1\naws_access_key_id = AKID\n[ci]\nregion = b\n",
                kind: .credentials))
        let profile = try #require(merged.profiles["default"])
        #expect(profile.region == "eu-south-1")
        #expect(profile.string("output") == "json")
        #expect(profile.accessKeyID == "AKID")
        #expect(merged.profiles["ci"]?.region == "b")
        #expect(merged.profiles["dev"]?.region == "a")
    }

    @Test func lineEndings() throws {
        let file = try config("[default]\r\nregion = a\r\ns3 =\r\n  endpoint_url = b\r\n[profile x]\rregion = c")
        #expect(file.profiles["default"]?.region == "a")
        #expect(file.profiles["default"]?.subsection("s3") == ["endpoint_url": "b"])
        #expect(file.profiles["x"]?.region == "c")
    }

    @Test func credentialSettings() throws {
        let profile = try #require(
            try config(
                """
                [profile role]
                role_arn = arn:aws:iam::123456789012:role/r
                source_profile = base
                web_identity_token_file = /var/run/token
                role_session_name = rollout
                aws_access_key_id = AKID
                aws_secret_access_key = SECRET
                aws_session_token = TOKEN
                services = local
                ignore_configured_endpoint_urls = TRUE
                """
            ).profiles["role"])
        #expect(profile.roleARN == "arn:aws:iam::123456789012:role/r")
        #expect(profile.sourceProfile == "base")
        #expect(profile.webIdentityTokenFile == "/var/run/token")
        #expect(profile.roleSessionName == "rollout")
        #expect(profile.accessKeyID == "AKID")
        #expect(profile.secretAccessKey == "SECRET")
        #expect(profile.sessionToken == "TOKEN")
        #expect(profile.services == "local")
        #expect(profile.ignoreConfiguredEndpointURLs == true)
        #expect(!profile.description.contains("SECRET"))
        #expect(!"\(profile)".contains("SECRET") && !String(reflecting: profile).contains("SECRET"))
    }

    @Test func errorsNameTheLineButNotItsContent() throws {
        let missingDelimiter = try #require(parseError("[default]\nregion = a\naws_secret_access_key SECRET\n"))
        #expect(missingDelimiter.line == 3)
        #expect(missingDelimiter.path == "/home/u/.aws/config")
        #expect(!missingDelimiter.description.contains("SECRET"))
        #expect(parseError("[default]\nregion = a\n[default]\n")?.line == 3)
        #expect(parseError("[default]\nregion = a\nREGION = b\n")?.line == 3)
        #expect(parseError("region = a\n[default]\n")?.line == 1)
        #expect(parseError("[default]\n= a\n")?.line == 2)
        #expect(parseError("[default]\ns3 =\n  no equals sign\n") != nil)
        #expect(parseError("[a]\nx = 1\n[a]\n", kind: .credentials) != nil)
        #expect(parseError("[DEFAULT]\nx = 1\n[DEFAULT]\ny = 2\n") == nil)
        #expect(parseError("") == nil)
    }

    @Test func activeProfileName() {
        #expect(SharedConfigFile.activeProfileName(configuredProfile: "toml", environment: ["AWS_PROFILE": "env"]) == "toml")
        #expect(SharedConfigFile.activeProfileName(configuredProfile: nil, environment: ["AWS_PROFILE": "env"]) == "env")
        #expect(SharedConfigFile.activeProfileName(configuredProfile: "", environment: ["AWS_PROFILE": ""]) == "default")
        #expect(SharedConfigFile.activeProfileName(configuredProfile: nil, environment: ["AWS_DEFAULT_PROFILE": "x"]) == "default")
    }

    @Test func profileLookup() throws {
        let file = try config("[profile dev]\nregion = a\n")
        #expect(file.profile(named: "dev")?.region == "a")
        #expect(file.profile(named: "default") == SharedConfigSection())
        #expect(file.profile(named: "ghost") == nil)
    }
}

@Suite("Shared config files")
struct SharedConfigLoadingTests {
    @Test func pathsFollowBotocore() {
        let home = ["HOME": "/home/u/"]
        #expect(SharedConfigFile.configFilePath(environment: home) == "/home/u/.aws/config")
        #expect(SharedConfigFile.credentialsFilePath(environment: home) == "/home/u/.aws/credentials")
        let custom = ["HOME": "/home/u", "STAGE": "prod", "AWS_CONFIG_FILE": "~/cfg/$STAGE/${STAGE}-$MISSING${ALSO}",
                      "AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/creds"]
        #expect(SharedConfigFile.configFilePath(environment: custom) == "/home/u/cfg/prod/prod-$MISSING${ALSO}")
        #expect(SharedConfigFile.credentialsFilePath(environment: custom) == "/etc/aws/creds")
        #expect(SharedConfigFile.configFilePath(environment: [:]) == "~/.aws/config")
    }

    @Test func loadReadsAndMergesBothFiles() throws {
        let files = [
            "/h/.aws/config": "[default]\nregion = eu-west-1\n[profile dev]\nservices = s\n",
            "/h/.aws/credentials": "[default]\naws_access_key_id = AKID\n",
        ]
        var asked: [String] = []
        let loaded = try SharedConfigFile.load(environment: ["HOME": "/h"]) { path in
            asked.append(path)
            return files[path].map { Array($0.utf8) }
        }
        #expect(asked == ["/h/.aws/config", "/h/.aws/credentials"])
        #expect(loaded.profiles["default"]?.region == "eu-west-1")
        #expect(loaded.profiles["default"]?.accessKeyID == "AKID")
        #expect(loaded.profiles["dev"]?.services == "s")
        let credentialsOnly = try SharedConfigFile.read(.credentials, environment: ["HOME": "/h"]) { files[$0].map { Array($0.utf8) } }
        #expect(credentialsOnly.profiles["default"]?.region == nil)
        #expect(credentialsOnly.profiles["default"]?.accessKeyID == "AKID")
    }

    @Test func missingFilesAreEmptyAndBadFilesFail() throws {
        #expect(try SharedConfigFile.load(environment: ["HOME": "/h"]) { _ in nil } == SharedConfigFile())
        #expect(throws: SharedConfigParseError.self) {
            try SharedConfigFile.load(environment: ["HOME": "/h"]) { _ in [0x5B, 0xFF, 0x5D] }
        }
        let error = #expect(throws: SharedConfigParseError.self) {
            try SharedConfigFile.load(environment: ["AWS_SHARED_CREDENTIALS_FILE": "/c"]) { path in
                path == "/c" ? Array("oops\n".utf8) : nil
            }
        }
        #expect(error?.path == "/c")
    }

    @Test func regularFileReader() throws {
        let source = try #require(RegularFile.contents(atPath: #filePath))
        #expect(String(decoding: source, as: UTF8.self).contains("regularFileReader"))
        #expect(RegularFile.contents(atPath: "/") == nil)
        #expect(RegularFile.contents(atPath: "/nonexistent/rolloutd/config") == nil)
    }
}

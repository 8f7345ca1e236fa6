import Foundation
import RolloutCore
import RolloutCrypto
import RolloutLocal
import Testing

@Suite("Local secret store")
struct SecretStoreTests {
    static let allowlistKey = "[cloud.local].secrets_allowlist"

    static func writeSecrets(_ text: String, in provider: LocalProvider) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: provider.root + "/secrets.toml"))
    }

    @Test("names outside the allowlist are refused before the file is read, even when it is missing")
    func refusedWithoutFile() async throws {
        try await withProvider(allowlist: ["demo/token"]) { provider, _ in
            await expectError(.configInvalid, containing: [Self.allowlistKey, "other"]) {
                _ = try await provider.secrets.get(name: "other", versionStage: "AWSCURRENT", refresh: false)
            }
        }
    }

    @Test("case, whitespace and partial variants of an allowlisted name are refused")
    func variantsRefused() async throws {
        try await withProvider(allowlist: ["demo/token"]) { provider, _ in
            try Self.writeSecrets(#"" demo/token" = "x"\n"Demo/Token" = "x"\n"demo" = "x"\n"#, in: provider)
            for name in ["Demo/Token", "DEMO/TOKEN", " demo/token", "demo/token ", "demo/token\n", "demo", "demo/", "arn:aws:secretsmanager:us-east-1:1:secret:demo/token"] {
                await expectError(.configInvalid, containing: [Self.allowlistKey]) {
                    _ = try await provider.secrets.get(name: name, versionStage: "AWSCURRENT", refresh: false)
                }
            }
        }
    }

    @Test("Unicode look-alikes of allowlisted names are refused, even when the file defines them")
    func lookAlikesRefused() async throws {
        // "caf\u{E9}" is listed precomposed and "nai\u{308}ve" decomposed: neither direction matches.
        let listed = ["prod/API_KEY", "caf\u{E9}/token", "nai\u{308}ve"]
        let lookAlikes = [
            "prod/API_\u{212A}EY",  // KELVIN SIGN: String == calls it equal to the listed name
            "cafe\u{301}/token",  // e + COMBINING ACUTE ACCENT for the listed U+00E9
            "na\u{EF}ve",  // precomposed ï for the listed i + COMBINING DIAERESIS
            "\u{FF50}\u{FF52}\u{FF4F}\u{FF44}/API_KEY",  // fullwidth "prod"
            "prod/API_KEY ", "prod/API_KEY\u{A0}", " prod/API_KEY",  // trailing, no-break and leading space
            "prod/api_key", "PROD/API_KEY", "Prod/API_Key",  // case
        ]
        try await withProvider(allowlist: listed) { provider, _ in
            var text = "\"prod/API_KEY\" = \"real-key\"\n\"caf\u{E9}/token\" = \"nfc-token\"\n\"nai\u{308}ve\" = \"nfd-naive\"\n"
            for name in lookAlikes {
                text += "\"\(name)\" = \"look-alike-value\"\n"
            }
            try Self.writeSecrets(text, in: provider)
            #expect(try await provider.secrets.get(name: "prod/API_KEY", versionStage: "AWSCURRENT", refresh: false).value == "real-key")
            #expect(try await provider.secrets.get(name: "caf\u{E9}/token", versionStage: "AWSCURRENT", refresh: false).value == "nfc-token")
            #expect(try await provider.secrets.get(name: "nai\u{308}ve", versionStage: "AWSCURRENT", refresh: false).value == "nfd-naive")
            for name in lookAlikes {
                let error = await #expect(throws: RolloutError.self, "\(name.debugDescription)") {
                    _ = try await provider.secrets.get(name: name, versionStage: "AWSCURRENT", refresh: true)
                }
                #expect(error?.code == .configInvalid, "\(name.debugDescription)")
                #expect(error?.message.contains(Self.allowlistKey) == true)
                #expect(error?.message.contains("value") == false)
            }
        }
    }

    @Test("an allowlisted name is read from secrets.toml, plain or quoted")
    func valueRead() async throws {
        try await withProvider(allowlist: ["demo/token", "plain"]) { provider, _ in
            try Self.writeSecrets("plain = \"one\"\n\"demo/token\" = \"s3cr3t\"\n", in: provider)
            let secret = try await provider.secrets.get(name: "demo/token", versionStage: "AWSCURRENT", refresh: false)
            #expect(secret == SecretValue(
                name: "demo/token", value: "s3cr3t", binary: nil,
                versionId: String(Digest.sha256("s3cr3t").hexString.prefix(32)), versionStages: ["AWSCURRENT"],
                cached: false, ageMs: 0, stale: false
            ))
            #expect(try await provider.secrets.get(name: "plain", versionStage: "AWSCURRENT", refresh: true).value == "one")
            // Edits show up on the next call.
            try Self.writeSecrets("plain = \"two\"\n", in: provider)
            #expect(try await provider.secrets.get(name: "plain", versionStage: "AWSCURRENT", refresh: false).value == "two")
        }
    }

    @Test("allowlisted but absent names, or a missing file, are NotFound")
    func notFound() async throws {
        try await withProvider(allowlist: ["demo/token", "absent"]) { provider, _ in
            await expectError(.notFound, containing: ["demo/token"]) {
                _ = try await provider.secrets.get(name: "demo/token", versionStage: "AWSCURRENT", refresh: false)
            }
            try Self.writeSecrets("\"demo/token\" = \"s3cr3t\"\n", in: provider)
            await expectError(.notFound, containing: ["absent"]) {
                _ = try await provider.secrets.get(name: "absent", versionStage: "AWSCURRENT", refresh: false)
            }
            await expectError(.notFound, containing: ["AWSCURRENT"]) {
                _ = try await provider.secrets.get(name: "demo/token", versionStage: "AWSPREVIOUS", refresh: false)
            }
        }
    }

    @Test("a malformed secrets.toml is ConfigInvalid naming the file and line, never the values")
    func malformed() async throws {
        try await withProvider(allowlist: ["ok", "number"]) { provider, _ in
            try Self.writeSecrets("ok = \"fine\"\nbroken = \"hunter2-secret\nnext = 1\n", in: provider)
            let error = await #expect(throws: RolloutError.self) {
                _ = try await provider.secrets.get(name: "ok", versionStage: "AWSCURRENT", refresh: false)
            }
            #expect(error?.code == .configInvalid)
            let message = error?.message ?? ""
            #expect(message.contains("secrets.toml"))
            #expect(message.contains("line 2"))
            #expect(!message.contains("hunter2"))
            #expect(!message.contains("fine"))

            try Self.writeSecrets("number = 42\n", in: provider)
            await expectError(.configInvalid, containing: ["number", "string"]) {
                _ = try await provider.secrets.get(name: "number", versionStage: "AWSCURRENT", refresh: false)
            }
        }
    }
}

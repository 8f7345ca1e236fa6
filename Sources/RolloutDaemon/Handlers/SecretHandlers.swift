import RolloutCore
import RolloutRPC

extension Services {
    func registerSecrets(into registry: inout MethodRegistry) {
        registry.register(SecretGet.self) { params, _ in
            let stage = params.versionStage ?? "AWSCURRENT"
            // Bytes, not String equality (canonical equivalence): the stage is sent to AWS as given.
            guard ["AWSCURRENT", "AWSPREVIOUS"].map(ByteExactString.init).contains(ByteExactString(stage)) else {
                throw RolloutError.invalidParams("param 'versionStage' must be \"AWSCURRENT\" or \"AWSPREVIOUS\"")
            }
            let store = try require(secrets, "SecretStore")
            let value = try await health.track(.secrets) {
                try await store.get(name: params.name, versionStage: stage, refresh: params.refresh ?? false)
            }
            ProviderMetrics.secretServed(value)
            return value
        }
        registry.register(SecretPut.self) { _, _ in
            throw RolloutError(.readOnly, "the SecretStore is read-only; rolloutd never writes secrets")
        }
    }
}

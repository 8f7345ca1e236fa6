/// The chain is what every service client signs with.
extension CredentialChain: CredentialSource {}

/// An AWS access key pair, with the session token and expiry of temporary credentials.
///
/// Printing, interpolating or `dump`-ing a value never shows the secret or the token:
/// `AWSCredentials(accessKeyId: AKIDEXAMPLE, secret: <redacted>)`.
public struct AWSCredentials: Sendable, Hashable {
    /// The access key id (`AKIA…`, `ASIA…`); not a secret, it appears in every Authorization header.
    public let accessKeyId: String
    /// The secret access key; it only ever feeds the signing-key derivation.
    public let secretAccessKey: String
    /// The session token of temporary credentials, sent as `x-amz-security-token`.
    /// An empty token counts as none.
    public let sessionToken: String?
    /// When temporary credentials expire, in seconds since 1970-01-01T00:00:00Z.
    public let expiration: Double?

    /// Credentials from their parts.
    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Double? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }
}

extension AWSCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The access key id and expiry; the secret and token show as `<redacted>`.
    public var description: String {
        var text = "AWSCredentials(accessKeyId: \(accessKeyId), secret: <redacted>"
        if sessionToken != nil {
            text += ", sessionToken: <redacted>"
        }
        if let expiration {
            text += ", expiration: \(expiration)"
        }
        return text + ")"
    }

    /// The same as ``description``.
    public var debugDescription: String { description }

    /// A mirror with the secret and token redacted, so `dump` and debuggers do not reveal them.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyId": accessKeyId,
                "secretAccessKey": "<redacted>",
                "sessionToken": sessionToken.map { _ in "<redacted>" } as Any,
                "expiration": expiration as Any,
            ],
            displayStyle: .struct
        )
    }
}

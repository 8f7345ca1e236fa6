/// The parts of an HTTP request that SigV4 covers, in the form they go on the wire.
///
/// The HTTP layer builds one, hands it to ``SigV4Signer/sign(_:payloadHash:date:)``, then sends
/// ``method``, ``wireURL()`` and ``headers`` exactly as they are afterwards: what is sent is
/// what was signed.
public struct SigningRequest: Sendable {
    /// The HTTP method, e.g. `GET`.
    public var method: String
    /// `https` or `http`.
    public var scheme: String
    /// The lowercase host name, followed by `:port` when the port is not the scheme's default.
    /// It is the `host` header unless ``headers`` already has one.
    public var host: String
    /// The path exactly as it goes on the wire: already percent-encoded (build it with
    /// ``SigV4Signer/encodePath(_:)``). An empty path means `/`.
    public var path: String
    /// Query parameters, raw (not encoded), in any order; names may repeat. The signer and
    /// ``wireURL()`` encode them.
    public var query: [(name: String, value: String)]
    /// Header fields in order; names are case-insensitive and may repeat. Signing adds `host`
    /// (when absent), `x-amz-date`, `x-amz-security-token`, `x-amz-content-sha256` (S3) and
    /// `authorization`.
    public var headers: [(name: String, value: String)]

    /// A request from its parts.
    public init(
        method: String,
        scheme: String = "https",
        host: String,
        path: String = "/",
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = []
    ) {
        self.method = method
        self.scheme = scheme
        self.host = host
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// The URL to send: `scheme://host/path?query`, with the query encoded and ordered exactly
    /// as in the canonical request (RFC 3986 encoding, sorted by encoded name then value,
    /// `name=` for an empty value).
    public func wireURL() -> String {
        var url: [UInt8] = []
        url.reserveCapacity(scheme.utf8.count + host.utf8.count + path.utf8.count + query.count * 24 + 8)
        url.append(contentsOf: scheme.utf8)
        url.append(contentsOf: "://".utf8)
        url.append(contentsOf: host.utf8)
        url.append(contentsOf: path.isEmpty ? "/".utf8 : path.utf8)
        if !query.isEmpty {
            url.append(UInt8(ascii: "?"))
            Canonical.appendQuery(query, to: &url)
        }
        return String(decoding: url, as: UTF8.self)
    }

    /// The first value of the header `name` (compared case-insensitively), if any.
    public func headerValue(_ name: String) -> String? {
        headers.first { Canonical.namesEqual($0.name, name) }?.value
    }

    /// Replaces every `name` header (compared case-insensitively) with one `name: value`
    /// at the end.
    public mutating func setHeader(_ name: String, _ value: String) {
        removeHeader(name)
        headers.append((name: name, value: value))
    }

    /// Removes every `name` header (compared case-insensitively).
    public mutating func removeHeader(_ name: String) {
        headers.removeAll { Canonical.namesEqual($0.name, name) }
    }
}

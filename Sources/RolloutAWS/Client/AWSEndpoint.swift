public import RolloutCore

/// An endpoint URL taken apart for signing: `scheme://host[:port][/base/path]`.
///
/// A custom endpoint's path (`http://gateway.local/aws/`) is kept and every request path is
/// joined under it the way botocore's `_urljoin` does.
public struct AWSEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// The lowercase host with `:port` when the port is not the scheme's default; IPv6
    /// addresses keep their brackets. This is the signed `host` header.
    public let host: String
    /// The path of the endpoint URL as written (already percent-encoded); empty for none.
    public let basePath: String

    /// Parses `url`; ConfigInvalid naming the problem (and never anything after an `@`) when
    /// it is not an `http(s)://host[:port][/path]` URL.
    public init(url: String) throws(RolloutError) {
        func invalid(_ why: String) -> RolloutError {
            RolloutError(.configInvalid, "invalid AWS endpoint URL: \(why)")
        }
        guard let schemeEnd = url.utf8.firstIndex(of: UInt8(ascii: ":")),
              url[schemeEnd...].hasPrefix("://")
        else { throw invalid("expected http://host or https://host") }
        let scheme = url[..<schemeEnd].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw invalid("the scheme must be http or https")
        }
        let rest = url[url.index(schemeEnd, offsetBy: 3)...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let tail = rest[authorityEnd...]
        guard !authority.contains("@") else { throw invalid("user information is not allowed in the URL") }
        guard !tail.contains("?"), !tail.contains("#") else {
            throw invalid("a query or fragment is not allowed in the URL")
        }
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw invalid("the URL contains whitespace or control characters")
        }

        var hostPart = Substring(authority)
        var port: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address") }
            let after = hostPart[hostPart.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 address") }
                port = after.dropFirst()
            }
            hostPart = hostPart[...close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            port = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty, hostPart != "[]" else { throw invalid("the host is empty") }
        var host = hostPart.lowercased()
        if let port {
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCII), let number = Int(port), (1...65535).contains(number)
            else { throw invalid("the port must be a number in 1...65535") }
            let isDefault = (scheme == "https" && number == 443) || (scheme == "http" && number == 80)
            if !isDefault { host += ":\(number)" }
        }
        self.scheme = scheme
        self.host = host
        self.basePath = String(tail)
    }

    /// The wire path for `path` (a wire-encoded path starting with `/`) under ``basePath``,
    /// as botocore joins them: `/` alone is the base path itself (or `/`), and a base path
    /// ending in `/` does not double the slash.
    public func joinedPath(_ path: String) -> String {
        if path.isEmpty || path == "/" {
            return basePath.isEmpty ? "/" : basePath
        }
        if basePath.hasSuffix("/") && path.hasPrefix("/") {
            return String(basePath.dropLast()) + path
        }
        return basePath + path
    }

    /// `scheme://host/basePath`.
    public var description: String {
        "\(scheme)://\(host)\(basePath)"
    }
}

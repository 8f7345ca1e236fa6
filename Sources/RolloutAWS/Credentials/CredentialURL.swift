/// An `http`/`https` URL split the way the credential providers need it: scheme, host (IPv6
/// without brackets), port, and the path with its query. Userinfo (`user@`) is dropped.
struct CredentialURL: Sendable, Hashable {
    /// `http` or `https`, lower-cased.
    var scheme: String
    /// The host, lower-cased; an IPv6 literal without its brackets.
    var host: String
    /// The explicit port, if any.
    var port: Int?
    /// The path and query (`/v1/credentials?x=1`); `/` when the URL has none.
    var pathAndQuery: String

    /// Parses `text`; nil unless it is an absolute `http` or `https` URL with a host.
    init?(_ text: String) {
        guard !text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }),
              let separator = text.firstRange(of: "://") else { return nil }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = text[separator.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
        }
        guard !host.isEmpty else { return nil }
        if let portText {
            guard !portText.isEmpty, portText.allSatisfy(\.isASCII), let port = Int(portText), (1...65535).contains(port)
            else { return nil }
            self.port = port
        } else {
            self.port = nil
        }
        var path = String(rest[authorityEnd...])
        if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
        if !path.hasPrefix("/") { path = "/" + path }
        self.scheme = scheme
        self.host = host.lowercased()
        self.pathAndQuery = path
    }

    /// The `Host` header value: the host (bracketed when IPv6), then `:port` unless it is the
    /// scheme's default.
    var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        guard let port, port != (scheme == "https" ? 443 : 80) else { return bracketed }
        return "\(bracketed):\(port)"
    }

    /// The path without the query.
    var path: String {
        String(pathAndQuery.prefix { $0 != "?" })
    }

    /// `scheme://host[:port]`, no path.
    var origin: String {
        "\(scheme)://\(hostHeader)"
    }
}

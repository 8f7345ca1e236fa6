/// Whether a configuration value is an absolute `http://` or `https://` URL with a host.
///
/// This replaced Foundation's `URL(string:)` (the daemon no longer links Foundation) and accepts
/// what it accepted, with one exception: a space or control character anywhere is refused (an
/// endpoint with one is always a mistake; Foundation percent-encoded them in the path). The host
/// follows RFC 3986 (registered name, `%HH`, or an IP literal in brackets), plus non-ASCII letters
/// (an internationalised name); the path, query, fragment and user info may hold any other
/// printable character, which the HTTP client percent-encodes as Foundation did.
enum HTTPURLSyntax {
    static func isHTTPURLWithHost(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let scheme = String(decoding: bytes[..<colon], as: UTF8.self).lowercased()
        guard scheme == "http" || scheme == "https" else { return false }
        var rest = bytes[(colon + 1)...]
        guard rest.starts(with: [UInt8(ascii: "/"), UInt8(ascii: "/")]) else { return false }
        rest = rest.dropFirst(2)
        let authorityEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? rest.endIndex
        guard isAuthorityWithHost(rest[..<authorityEnd]) else { return false }
        return isPathQueryFragment(rest[authorityEnd...])
    }

    /// `[userinfo "@"] host [":" port]` with a non-empty host.
    private static func isAuthorityWithHost(_ authority: ArraySlice<UInt8>) -> Bool {
        var hostAndPort = authority
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) {
            let userinfo = authority[..<at]
            guard userinfo.allSatisfy(isPrintable) else { return false }
            hostAndPort = authority[(at + 1)...]
        }
        let host: ArraySlice<UInt8>
        let port: ArraySlice<UInt8>
        if hostAndPort.first == UInt8(ascii: "[") {
            guard let close = hostAndPort.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let literal = hostAndPort[(hostAndPort.startIndex + 1)..<close]
            guard !literal.isEmpty, literal.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else {
                return false
            }
            host = hostAndPort[...close]
            let after = hostAndPort[(close + 1)...]
            guard after.isEmpty || after.first == UInt8(ascii: ":") else { return false }
            port = after.dropFirst()
        } else if let colon = hostAndPort.firstIndex(of: UInt8(ascii: ":")) {
            host = hostAndPort[..<colon]
            port = hostAndPort[(colon + 1)...]
        } else {
            host = hostAndPort
            port = []
        }
        guard !host.isEmpty, port.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return false }
        return host.first == UInt8(ascii: "[") || isEncoded(host, allowing: { isUnreserved($0) || isSubDelimiter($0) || $0 >= 0x80 })
    }

    /// Path, query and fragment: printable characters (a stray `%` or `#` is encoded, not an error).
    private static func isPathQueryFragment(_ tail: ArraySlice<UInt8>) -> Bool {
        tail.allSatisfy(isPrintable)
    }

    /// Not a space, not an ASCII control character; UTF-8 bytes of other characters are printable.
    private static func isPrintable(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte != 0x7F
    }

    /// Every byte is allowed by `allowed`, or starts a `%HH` escape.
    private static func isEncoded(_ bytes: ArraySlice<UInt8>, allowing allowed: (UInt8) -> Bool) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, isHexDigit(bytes[index + 1]), isHexDigit(bytes[index + 2])
                else { return false }
                index += 3
            } else {
                guard allowed(byte) else { return false }
                index += 1
            }
        }
        return true
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || "-._~".utf8.contains(byte)
    }

    private static func isSubDelimiter(_ byte: UInt8) -> Bool {
        "!$&'()*+,;=".utf8.contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}

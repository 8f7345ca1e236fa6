import Glibc
public import RolloutCore

extension Configuration.ListenAddress {
    /// Parses `host:port` as `[server.http] listen` takes it: an IPv4 address, `localhost`, or an
    /// IPv6 address in brackets, then a port in 1...65535. IPv6 literals are kept in their
    /// canonical form (`[0:0::1]` becomes `::1`). The error names what is wrong, without the key.
    public static func parse(_ text: String) -> Result<Self, ListenAddressError> {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return .failure(.init("an IPv6 address must be written in brackets and followed by a port, like \"[::1]:9464\""))
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(.init("expected host:port, like \"127.0.0.1:9464\""))
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                return .failure(.init("an IPv6 address must be written in brackets, like \"[::1]:9464\""))
            }
        }
        guard !portPart.isEmpty, portPart.allSatisfy(\.isASCIIDigit), let port = Int(portPart), (1...65535).contains(port) else {
            return .failure(.init("the port must be a number in 1...65535 (got \"\(portPart)\")"))
        }
        let host = String(hostPart)
        if host == "localhost" { return .success(.init(host: host, port: port)) }
        if text.hasPrefix("["), let canonical = canonicalIPv6(host) {
            return .success(.init(host: canonical, port: port))
        }
        if !text.hasPrefix("["), isIPv4(host) { return .success(.init(host: host, port: port)) }
        return .failure(
            .init("\"\(host)\" is not an IPv4 address, an IPv6 address in brackets, or localhost")
        )
    }

    private static func isIPv4(_ host: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, host, &address) == 1
    }

    private static func canonicalIPv6(_ host: String) -> String? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, host, &address) == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Why a `listen` value is not a `host:port` address.
public struct ListenAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// The checks botocore makes on a region and an endpoint URL before it creates a client.
package enum HostValidation {
    /// botocore's `validate_region_name`: at most 63 ASCII letters, digits and hyphens, not
    /// starting or ending with a hyphen, not all digits.
    package static func isValidRegion(_ region: String) -> Bool {
        let scalars = Array(region.unicodeScalars)
        return scalars.count <= 63
            && scalars.allSatisfy { $0 == "-" || isASCIILetterOrDigit($0) }
            && scalars.first != "-" && scalars.last != "-"
            && !(!scalars.isEmpty && scalars.allSatisfy { ("0"..."9").contains($0) })
    }

    /// botocore's `is_valid_endpoint_url or is_valid_ipv6_endpoint_url`, on the host Python's
    /// `urlsplit` finds: no tab, CR or LF anywhere; then a `scheme://` authority whose host is
    /// dot-separated labels of letters, digits and inner hyphens (at most 255 characters, one
    /// trailing dot allowed), or a bracketed IPv6 address with an optional zone. The scheme
    /// and the port are not checked.
    package static func isValidEndpointURL(_ url: String) -> Bool {
        var rest = Array(url.unicodeScalars)[...]
        guard !rest.contains(where: { $0 == "\t" || $0 == "\r" || $0 == "\n" }) else { return false }
        rest = rest.drop { $0.value <= 0x20 }
        if let colon = rest.firstIndex(of: ":"), colon != rest.startIndex, isASCIILetter(rest[rest.startIndex]),
            rest[..<colon].allSatisfy({ isASCIILetterOrDigit($0) || $0 == "+" || $0 == "-" || $0 == "." })
        {
            rest = rest[(colon + 1)...]
        }
        guard rest.starts(with: ["/", "/"]) else { return false }
        let authority = rest.dropFirst(2).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard authority.contains("[") == authority.contains("]") else { return false }
        let hostAndPort = authority.lastIndex(of: "@").map { authority[($0 + 1)...] } ?? authority
        if let open = hostAndPort.firstIndex(of: "[") {
            return isValidIPv6WithZone(Array(hostAndPort[(open + 1)...].prefix { $0 != "]" }))
        }
        return isValidHostName(Array(hostAndPort.prefix { $0 != ":" }))
    }

    private static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private static func isASCIILetterOrDigit(_ scalar: Unicode.Scalar) -> Bool {
        isASCIILetter(scalar) || ("0"..."9").contains(scalar)
    }

    private static func isValidHostName(_ host: [Unicode.Scalar]) -> Bool {
        guard !host.isEmpty, host.count <= 255 else { return false }
        let trimmed = host.last == "." ? host.dropLast() : host[...]
        return trimmed.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0 == "-" || isASCIILetterOrDigit($0) }
        }
    }

    /// RFC 3986 `IPv6address`, then an optional zone: `%25` or `%` followed by unreserved
    /// characters or percent-escapes (botocore's `IPV6_ADDRZ_RE`).
    private static func isValidIPv6WithZone(_ host: [Unicode.Scalar]) -> Bool {
        guard let percent = host.firstIndex(of: "%") else { return isValidIPv6(host[...]) }
        guard isValidIPv6(host[..<percent]) else { return false }
        var zone = Array(host[(percent + 1)...])
        if zone.count > 2 && zone.starts(with: ["2", "5"]) { zone.removeFirst(2) }
        guard !zone.isEmpty else { return false }
        var index = 0
        while index < zone.count {
            if zone[index] == "%" {
                guard index + 2 < zone.count, zone[index + 1].properties.isASCIIHexDigit,
                    zone[index + 2].properties.isASCIIHexDigit
                else { return false }
                index += 3
            } else {
                guard isASCIILetterOrDigit(zone[index]) || "-._~".unicodeScalars.contains(zone[index]) else { return false }
                index += 1
            }
        }
        return true
    }

    private static func isValidIPv6(_ address: ArraySlice<Unicode.Scalar>) -> Bool {
        let text = String(String.UnicodeScalarView(address))
        let halves = text.split(separator: "::", omittingEmptySubsequences: false)
        guard halves.count <= 2 else { return false }
        var groups = 0
        for (position, half) in halves.enumerated() where !half.isEmpty {
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (index, part) in parts.enumerated() {
                let isLast = position == halves.count - 1 && index == parts.count - 1
                if isLast && part.contains(".") {
                    guard isValidIPv4(part) else { return false }
                    groups += 2
                } else {
                    guard (1...4).contains(part.count), part.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit })
                    else { return false }
                    groups += 1
                }
            }
        }
        return halves.count == 2 ? groups <= 7 : groups == 8
    }

    private static func isValidIPv4(_ text: Substring) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { octet in
            (1...3).contains(octet.count) && octet.unicodeScalars.allSatisfy { ("0"..."9").contains($0) }
                && Int(octet).map { $0 <= 255 } == true
        }
    }
}

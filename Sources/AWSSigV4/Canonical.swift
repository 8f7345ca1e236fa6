/// The pieces of the canonical request, written straight into byte buffers.
///
/// Every rule here matches botocore (`botocore/auth.py` `SigV4Auth`) byte for byte; the
/// cross-check in `tests/sigv4` holds us to it.
enum Canonical {
    /// Headers never signed: botocore's `SIGNED_HEADERS_BLACKLIST`. Hop-by-hop headers and
    /// those that proxies and HTTP clients rewrite (`user-agent`, `expect`, `transfer-encoding`,
    /// the X-Ray trace header). `content-length` is signed when present, as botocore does.
    static let unsignedHeaderNames: [[UInt8]] = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ].map { Array($0.utf8) }

    // MARK: Method and URI

    /// The method, ASCII-uppercased.
    static func appendMethod(_ method: String, to out: inout [UInt8]) {
        for byte in method.utf8 {
            out.append((UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte)
        }
    }

    /// The canonical URI of a wire path. With `normalizing` (every service but S3): remove dot
    /// segments, collapse empty segments, then percent-encode the already-encoded path again
    /// (`%3A` → `%253A`). Without (S3): the wire path unchanged. An empty path is `/`.
    static func appendURI(_ path: String, normalizing: Bool, to out: inout [UInt8]) {
        guard !path.isEmpty else {
            out.append(UInt8(ascii: "/"))
            return
        }
        guard normalizing else {
            out.append(contentsOf: path.utf8)
            return
        }
        var path = path
        path.withUTF8 { appendNormalizedURI($0, to: &out) }
    }

    /// botocore's `remove_dot_segments` followed by `quote(path, safe='/~')`: `.` and empty
    /// segments drop, `..` drops the segment before it, the leading `/` stays, and a trailing
    /// `/` stays when any segment is left.
    private static func appendNormalizedURI(_ path: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        let slash = UInt8(ascii: "/")
        let dot = UInt8(ascii: ".")
        var segments: [Range<Int>] = []
        var start = 0
        for end in 0...path.count where end == path.count || path[end] == slash {
            let segment = start..<end
            start = end + 1
            switch segment.count {
            case 0:
                continue
            case 1 where path[segment.lowerBound] == dot:
                continue
            case 2 where path[segment.lowerBound] == dot && path[segment.lowerBound + 1] == dot:
                _ = segments.popLast()
            default:
                segments.append(segment)
            }
        }
        if path[0] == slash {
            out.append(slash)
        }
        for (position, segment) in segments.enumerated() {
            if position > 0 {
                out.append(slash)
            }
            PercentEncoding.append(UnsafeBufferPointer(rebasing: path[segment]), keepingSlash: false, to: &out)
        }
        if path[path.count - 1] == slash && !segments.isEmpty {
            out.append(slash)
        }
    }

    // MARK: Query

    /// The canonical query string: names and values percent-encoded, pairs sorted by encoded
    /// name then encoded value, `name=` for an empty value, joined with `&`.
    static func appendQuery(_ query: [(name: String, value: String)], to out: inout [UInt8]) {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(query.count * 24)
        var pairs: [(name: Range<Int>, value: Range<Int>)] = []
        pairs.reserveCapacity(query.count)
        for item in query {
            let nameStart = encoded.count
            PercentEncoding.append(item.name, keepingSlash: false, to: &encoded)
            let valueStart = encoded.count
            PercentEncoding.append(item.value, keepingSlash: false, to: &encoded)
            pairs.append((nameStart..<valueStart, valueStart..<encoded.count))
        }
        if pairs.count > 1 {
            pairs.sort { lhs, rhs in
                let byName = compare(encoded[lhs.name], encoded[rhs.name])
                return byName != 0 ? byName < 0 : compare(encoded[lhs.value], encoded[rhs.value]) < 0
            }
        }
        for (position, pair) in pairs.enumerated() {
            if position > 0 {
                out.append(UInt8(ascii: "&"))
            }
            out.append(contentsOf: encoded[pair.name])
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: encoded[pair.value])
        }
    }

    // MARK: Headers

    /// Appends the canonical header lines (`name:value\n` each) to `canonical` and the
    /// `;`-joined signed header names to `signed`. Names are lowercased and sorted; values of a
    /// repeated name are joined with `,` in request order; each value is trimmed and its
    /// whitespace runs collapsed to one space.
    static func appendHeaders(
        _ headers: [(name: String, value: String)],
        canonical: inout [UInt8],
        signed: inout [UInt8]
    ) {
        var names: [UInt8] = []
        names.reserveCapacity(headers.count * 16)
        var entries: [(name: Range<Int>, index: Int)] = []
        entries.reserveCapacity(headers.count)
        for (index, header) in headers.enumerated() {
            let start = names.count
            for byte in header.name.utf8 {
                names.append(lowercased(byte))
            }
            let name = start..<names.count
            if isUnsigned(names[name]) {
                names.removeSubrange(name)
            } else {
                entries.append((name, index))
            }
        }
        entries.sort { lhs, rhs in
            let byName = compare(names[lhs.name], names[rhs.name])
            return byName != 0 ? byName < 0 : lhs.index < rhs.index
        }
        var previous: Range<Int>?
        for entry in entries {
            if let previous, compare(names[previous], names[entry.name]) == 0 {
                canonical.append(UInt8(ascii: ","))
            } else {
                if previous != nil {
                    canonical.append(UInt8(ascii: "\n"))
                    signed.append(UInt8(ascii: ";"))
                }
                canonical.append(contentsOf: names[entry.name])
                canonical.append(UInt8(ascii: ":"))
                signed.append(contentsOf: names[entry.name])
            }
            appendTrimmedValue(headers[entry.index].value, to: &canonical)
            previous = entry.name
        }
        if previous != nil {
            canonical.append(UInt8(ascii: "\n"))
        }
    }

    /// Python's `' '.join(value.split())`, as botocore does: leading and trailing whitespace
    /// dropped, every inner run (spaces, tabs, line breaks of folded values) becomes one space.
    /// Whitespace is ASCII whitespace as `str.isspace` sees it.
    private static func appendTrimmedValue(_ value: String, to out: inout [UInt8]) {
        var value = value
        value.withUTF8 { bytes in
            var index = 0
            var first = true
            while index < bytes.count {
                while index < bytes.count && isWhitespace(bytes[index]) {
                    index += 1
                }
                let start = index
                while index < bytes.count && !isWhitespace(bytes[index]) {
                    index += 1
                }
                guard start < index else { break }
                if !first {
                    out.append(UInt8(ascii: " "))
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                first = false
            }
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x09...0x0D, 0x1C...0x20: true
        default: false
        }
    }

    private static func isUnsigned(_ name: ArraySlice<UInt8>) -> Bool {
        unsignedHeaderNames.contains { $0.count == name.count && $0.elementsEqual(name) }
    }

    // MARK: Bytes

    /// ASCII case-insensitive equality of two header names.
    static func namesEqual(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count && lhs.utf8.elementsEqual(rhs.utf8) { lowercased($0) == lowercased($1) }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    /// Three-way byte comparison (negative, zero, positive), like `memcmp` with lengths.
    private static func compare(_ lhs: ArraySlice<UInt8>, _ rhs: ArraySlice<UInt8>) -> Int {
        var left = lhs.startIndex
        var right = rhs.startIndex
        while left < lhs.endIndex && right < rhs.endIndex {
            if lhs[left] != rhs[right] {
                return lhs[left] < rhs[right] ? -1 : 1
            }
            left += 1
            right += 1
        }
        return lhs.count - rhs.count
    }
}

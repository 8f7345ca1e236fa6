/// RFC 3986 percent-encoding as SigV4 uses it: the unreserved bytes `A-Z a-z 0-9 - _ . ~` pass,
/// every other byte of the UTF-8 becomes `%XY` with uppercase hex (a space is `%20`, never `+`).
enum PercentEncoding {
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// Appends `bytes` encoded; with `keepingSlash`, `/` passes too (paths). Runs of bytes that
    /// pass are copied at once.
    static func append(_ bytes: UnsafeBufferPointer<UInt8>, keepingSlash: Bool, to out: inout [UInt8]) {
        var index = 0
        while index < bytes.count {
            let start = index
            while index < bytes.count && (isUnreserved(bytes[index]) || (keepingSlash && bytes[index] == UInt8(ascii: "/"))) {
                index += 1
            }
            if start < index {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
            }
            if index < bytes.count {
                let byte = bytes[index]
                out.append(UInt8(ascii: "%"))
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0x0F))
                index += 1
            }
        }
    }

    /// Appends `string`'s UTF-8 encoded.
    static func append(_ string: String, keepingSlash: Bool, to out: inout [UInt8]) {
        var string = string
        string.withUTF8 { append($0, keepingSlash: keepingSlash, to: &out) }
    }

    static func encoded(_ string: String, keepingSlash: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count + 16)
        append(string, keepingSlash: keepingSlash, to: &out)
        return out
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") - 10 + nibble
    }
}

extension SigV4Signer {
    /// Percent-encodes one URI component (a query name or value, an S3 key segment) per
    /// RFC 3986 the way SigV4 canonicalizes it: only `A-Z a-z 0-9 - _ . ~` stay; `/` becomes
    /// `%2F`, a space `%20`, `+` `%2B`.
    public static func encodeURIComponent(_ string: String) -> String {
        String(decoding: PercentEncoding.encoded(string, keepingSlash: false), as: UTF8.self)
    }

    /// Percent-encodes a raw path for the wire, keeping `/`: the S3 key path `/bucket/a b+c`
    /// becomes `/bucket/a%20b%2Bc`. Dot segments and repeated slashes are left as they are.
    public static func encodePath(_ path: String) -> String {
        String(decoding: PercentEncoding.encoded(path, keepingSlash: true), as: UTF8.self)
    }
}

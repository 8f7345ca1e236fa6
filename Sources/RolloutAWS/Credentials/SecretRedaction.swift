/// Keeps credentials and tokens out of error messages built from upstream text.
enum SecretRedaction {
    /// `text` with every occurrence of a non-empty `secrets` value replaced by `<redacted>`,
    /// every quoted value longer than 64 characters (AWS validation messages echo parameter
    /// values: a web identity token would be one) replaced by `'<redacted>'`, control
    /// characters turned into spaces, and the result cut to 512 characters.
    static func scrub(_ text: String, secrets: [String]) -> String {
        var result = text
        for secret in secrets where secret.count >= 4 {
            result = result.replacing(secret, with: "<redacted>")
        }
        result = redactLongQuotedValues(result)
        result = String(result.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
        if result.count > 512 { result = String(result.prefix(512)) + "…" }
        return result
    }

    private static func redactLongQuotedValues(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(where: { $0 == "'" || $0 == "\"" }) {
            let quote = rest[open]
            out += rest[...open]
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: quote) else {
                rest = rest[afterOpen...]
                break
            }
            let value = rest[afterOpen..<close]
            out += value.count > 64 ? "<redacted>" : value
            out.append(quote)
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return out
    }
}

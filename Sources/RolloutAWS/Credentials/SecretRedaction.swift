/// Keeps credentials and tokens out of error messages built from upstream text.
enum SecretRedaction {
    /// The mark ``AWSServiceError`` leaves where it cut an upstream message.
    private static let cut: Character = "…"

    /// `text` with every occurrence of a non-empty `secrets` value replaced by `<redacted>`,
    /// every quoted value longer than 64 characters (AWS validation messages echo parameter
    /// values: a web identity token would be one) replaced by `'<redacted>'`, control
    /// characters turned into spaces, and the result cut to 512 characters.
    ///
    /// Upstream messages may already have been cut (``AWSServiceError/maxMessageLength``,
    /// marked `…`): a quoted value the cut left open is redacted whatever its length, and so is
    /// the start of a secret (8 characters or more) right before the mark.
    static func scrub(_ text: String, secrets: [String]) -> String {
        var result = text
        for secret in secrets where secret.count >= 4 {
            result = result.replacing(secret, with: "<redacted>")
        }
        result = redactCutSecrets(result, secrets: secrets)
        result = redactLongQuotedValues(result)
        result = String(result.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
        if result.count > 512 { result = String(result.prefix(512)) + "…" }
        return result
    }

    /// Replaces the start of a secret cut off by `…`.
    private static func redactCutSecrets(_ text: String, secrets: [String]) -> String {
        guard text.contains(cut) else { return text }
        var out = ""
        var rest = Substring(text)
        while let mark = rest.firstIndex(of: cut) {
            var before = rest[..<mark]
            for secret in secrets where secret.count >= 8 {
                let longest = min(before.count, secret.count)
                if let length = stride(from: longest, through: 8, by: -1).first(where: { before.hasSuffix(secret.prefix($0)) }) {
                    before = before.dropLast(length) + "<redacted>"
                    break
                }
            }
            out += before
            out.append(cut)
            rest = rest[rest.index(after: mark)...]
        }
        out += rest
        return out
    }

    private static func redactLongQuotedValues(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(where: { $0 == "'" || $0 == "\"" }) {
            let quote = rest[open]
            out += rest[...open]
            let afterOpen = rest.index(after: open)
            let close = rest[afterOpen...].firstIndex(of: quote)
            let markAt = rest[afterOpen...].firstIndex(of: cut)
            if let markAt, close.map({ markAt < $0 }) ?? true {
                // The upstream message was cut inside this value.
                out += "<redacted>"
                rest = rest[markAt...]
                continue
            }
            guard let close else {
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

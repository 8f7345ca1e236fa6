/// The few pieces of Python's text handling that botocore's config parsing leans on, on
/// Unicode scalars (Python strings are sequences of code points, not grapheme clusters).
package enum PythonText {
    /// Python's `str.isspace()`: Unicode `White_Space` plus the separators U+001C...U+001F.
    /// The same set backs `str.strip()` and the `\s` / `\S` of `re` on `str` patterns.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }

    /// `str.strip()`.
    static func strip(_ scalars: some BidirectionalCollection<Unicode.Scalar>) -> String {
        rightStrip(scalars.drop(while: isSpace))
    }

    /// `str.rstrip()`.
    static func rightStrip(_ scalars: some BidirectionalCollection<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        if let last = scalars.lastIndex(where: { !isSpace($0) }) {
            view.append(contentsOf: scalars[...last])
        }
        return String(view)
    }

    /// The lines a text-mode file yields with universal newlines: split at `\r\n`, `\r` and
    /// `\n`, terminators dropped. A final terminator does not start another line.
    static func fileLines(_ text: String) -> [[Unicode.Scalar]] {
        lines(text, breaks: { $0 == "\n" || $0 == "\r" })
    }

    /// `str.splitlines()`: also splits at `\v`, `\f`, U+001C...U+001E, U+0085, U+2028 and U+2029.
    static func splitLines(_ text: String) -> [[Unicode.Scalar]] {
        lines(text) { scalar in
            switch scalar.value {
            case 0x0A...0x0D, 0x1C...0x1E, 0x85, 0x2028, 0x2029: true
            default: false
            }
        }
    }

    private static func lines(_ text: String, breaks: (Unicode.Scalar) -> Bool) -> [[Unicode.Scalar]] {
        var lines: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        var previousWasCarriageReturn = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" && previousWasCarriageReturn {
                previousWasCarriageReturn = false
                continue
            }
            previousWasCarriageReturn = scalar == "\r"
            if breaks(scalar) {
                lines.append(current)
                current = []
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// `shlex.split(text)` (POSIX mode, no comments): words separated by space, tab, CR or LF;
    /// single quotes keep everything, double quotes honour `\"` and `\\`, a backslash outside
    /// quotes escapes the next character. `nil` where `shlex` raises (an unclosed quote or a
    /// trailing backslash).
    package static func shellWords(_ text: String) -> [String]? {
        enum State: Equatable {
            case between, word
            case quoted(Unicode.Scalar)
            indirect case escaped(returningTo: State)
        }
        var words: [String] = []
        var word = String.UnicodeScalarView()
        var state = State.between
        for scalar in text.unicodeScalars {
            switch state {
            case .between, .word:
                if scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "\n" {
                    // In `.word` the word is non-empty or came from quotes (`""` is a word).
                    if state == .word {
                        words.append(String(word))
                        word = String.UnicodeScalarView()
                    }
                    state = .between
                } else if scalar == "\\" {
                    state = .escaped(returningTo: .word)
                } else if scalar == "'" || scalar == "\"" {
                    state = .quoted(scalar)
                } else {
                    word.append(scalar)
                    state = .word
                }
            case .quoted(let quote):
                if scalar == quote {
                    state = .word
                } else if quote == "\"" && scalar == "\\" {
                    state = .escaped(returningTo: state)
                } else {
                    word.append(scalar)
                }
            case .escaped(let resume):
                if case .quoted(let quote) = resume, scalar != quote, scalar != "\\" {
                    word.append("\\")
                }
                word.append(scalar)
                state = resume
            }
        }
        switch state {
        case .quoted, .escaped: return nil
        case .word: words.append(String(word))
        case .between: break
        }
        return words
    }
}

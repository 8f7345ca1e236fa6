import RolloutCore

/// The building blocks of human output: scalars, aligned tables, key/value blocks, byte counts.
enum HumanText {
    /// One JSON value as text on one line: strings as they are (control characters escaped),
    /// numbers and booleans as literals, `null` as `-`, arrays of scalars comma-separated,
    /// anything else as compact JSON.
    static func scalar(_ value: JSONValue) -> String {
        switch value {
        case .string(let string): singleLine(string)
        case .number(let number): number.text
        case .bool(let bool): bool ? "true" : "false"
        case .null: "-"
        case .array(let elements) where elements.isEmpty: "(none)"
        case .array(let elements) where elements.allSatisfy({ $0.objectValue == nil && $0.arrayValue == nil }):
            elements.map(scalar).joined(separator: ", ")
        case .object(let object) where object.isEmpty: "(none)"
        case .array, .object: value.jsonString
        }
    }

    /// `text` with newlines, tabs and other control characters escaped, so it fits one cell.
    static func singleLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.properties.generalCategory == .control:
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `text` cut to `limit` characters, with `…` marking the cut.
    static func truncated(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// A byte count for people: `512 B`, `12.3 MiB`.
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(count) B" }
        return "\(oneDecimal(value)) \(units[unit])"
    }

    /// `value` with exactly one decimal: `8.1`.
    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int64((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    /// A share in 0...1 as a percentage: `0.25` → `25%`, `0.125` → `12.5%`.
    static func percent(_ share: Double) -> String {
        let value = share * 100
        return value == value.rounded() ? "\(Int64(value))%" : "\(oneDecimal(value))%"
    }

    /// A whole number of seconds for people: `4 s`, `2 min 5 s`, `1 h 3 min`.
    static func duration(_ seconds: Int) -> String {
        switch seconds {
        case ..<60: "\(seconds) s"
        case ..<3600: seconds % 60 == 0 ? "\(seconds / 60) min" : "\(seconds / 60) min \(seconds % 60) s"
        default: seconds % 3600 / 60 == 0 ? "\(seconds / 3600) h" : "\(seconds / 3600) h \(seconds % 3600 / 60) min"
        }
    }

    /// Flattens an object into key/value rows: nested objects become dotted keys
    /// (`metadata.owner`), everything else goes through ``scalar(_:)``; `omitting` skips
    /// top-level members.
    static func rows(_ object: JSONObject, omitting: Set<String> = [], prefix: String = "") -> [(String, String)] {
        var rows: [(String, String)] = []
        for (key, value) in object where !omitting.contains(key) {
            if case .object(let nested) = value, !nested.isEmpty {
                rows += self.rows(nested, prefix: prefix + key + ".")
            } else {
                rows.append((prefix + key, scalar(value)))
            }
        }
        return rows
    }

    /// An object's metadata (`object.put|get|head`) as a key/value block, its `size` for people
    /// (`3.0 MiB`); `--json` keeps the byte count.
    static func object(_ result: JSONValue) -> String {
        block(rows(result.objectValue ?? [:]).map { key, value in
            guard key == "size", let size = result["size"]?.int64Value else { return (key, value) }
            return (key, bytes(size))
        })
    }

    /// Rows as an aligned block: `key  value` per line, keys padded to one width.
    static func block(_ rows: [(String, String)]) -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { key, value in key.padding(to: width) + "  " + value }.joined(separator: "\n")
    }

    /// An object as an aligned key/value block (see ``rows(_:omitting:prefix:)``).
    static func block(_ object: JSONObject, omitting: Set<String> = []) -> String {
        block(rows(object, omitting: omitting))
    }
}

/// An aligned table with a header row.
struct Table {
    /// How a column's cells line up.
    enum Alignment {
        case left
        case right
    }

    /// One column: its title and alignment.
    struct Column {
        var title: String
        var alignment: Alignment = .left
    }

    /// The columns, left to right.
    var columns: [Column]
    /// The rows; each has one cell per column.
    var rows: [[String]] = []

    /// Creates a table with left-aligned columns titled `titles`.
    init(_ titles: String...) {
        columns = titles.map { Column(title: $0) }
    }

    /// Right-aligns the columns at `indices` (numbers).
    func rightAligning(_ indices: Int...) -> Table {
        var copy = self
        for index in indices { copy.columns[index].alignment = .right }
        return copy
    }

    /// Appends a row.
    mutating func append(_ cells: [String]) {
        rows.append(cells.map(HumanText.singleLine))
    }

    /// The table as text: two spaces between columns, no trailing spaces, the header passed
    /// through `header` (bold on a terminal).
    func rendered(header: (String) -> String = { $0 }) -> String {
        let widths = columns.indices.map { index in
            ([columns[index].title] + rows.map { index < $0.count ? $0[index] : "" }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, column) in columns.enumerated() {
                let cell = index < cells.count ? cells[index] : ""
                switch column.alignment {
                case .left: parts.append(cell.padding(to: widths[index]))
                case .right: parts.append(String(repeating: " ", count: widths[index] - cell.count) + cell)
                }
            }
            var text = parts.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        let headerLine = line(columns.map(\.title))
        return ([header(headerLine)] + rows.map(line)).joined(separator: "\n")
    }
}

extension String {
    /// This string followed by spaces up to `width` characters.
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

import CSQLite

/// A value as SQLite stores it (its five storage classes).
enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The storage class's name, as errors show it.
    var kind: String {
        switch self {
        case .null: "NULL"
        case .integer: "INTEGER"
        case .real: "REAL"
        case .text: "TEXT"
        case .blob: "BLOB"
        }
    }
}

/// A Swift value a statement parameter can take.
protocol Bindable: Sendable {
    /// Binds the value to parameter `index` (1-based) of `statement`; an SQLite result code.
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32
}

/// A Swift value a column can be read as.
protocol ColumnValue {
    /// The value `sqlValue` holds, or nil when it holds another kind (NULL included).
    init?(sqlValue: SQLValue)
}

extension SQLValue: Bindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        switch self {
        case .null:
            return sqlite3_bind_null(statement, index)
        case .integer(let value):
            return sqlite3_bind_int64(statement, index, value)
        case .real(let value):
            return sqlite3_bind_double(statement, index, value)
        case .text(var value):
            guard value.utf8.count <= Int32.max else { return SQLITE_TOOBIG }
            return value.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { rollout_sqlite3_bind_text(statement, index, $0.baseAddress, Int32($0.count)) }
            }
        case .blob(let value):
            guard value.count <= Int32.max else { return SQLITE_TOOBIG }
            return value.withUnsafeBytes { rollout_sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count)) }
        }
    }
}

extension String: Bindable, ColumnValue {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 { SQLValue.text(self).bind(to: statement, at: index) }

    init?(sqlValue: SQLValue) {
        guard case .text(let value) = sqlValue else { return nil }
        self = value
    }
}

extension Int64: Bindable, ColumnValue {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 { SQLValue.integer(self).bind(to: statement, at: index) }

    init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .integer(let value): self = value
        // A REAL column keeps a whole number as an integer on disk but reads it back as REAL.
        case .real(let value): self.init(exactly: value)
        default: return nil
        }
    }
}

extension Int: Bindable, ColumnValue {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 { Int64(self).bind(to: statement, at: index) }

    init?(sqlValue: SQLValue) {
        guard let value = Int64(sqlValue: sqlValue) else { return nil }
        self.init(exactly: value)
    }
}

extension Double: Bindable, ColumnValue {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 { SQLValue.real(self).bind(to: statement, at: index) }

    init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .real(let value): self = value
        case .integer(let value): self = Double(value)
        default: return nil
        }
    }
}

extension Bool: ColumnValue {
    init?(sqlValue: SQLValue) {
        guard case .integer(let value) = sqlValue else { return nil }
        self = value != 0
    }
}

extension [UInt8]: Bindable, ColumnValue {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 { SQLValue.blob(self).bind(to: statement, at: index) }

    init?(sqlValue: SQLValue) {
        guard case .blob(let value) = sqlValue else { return nil }
        self = value
    }
}

extension Optional: Bindable where Wrapped: Bindable {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        guard let value = self else { return sqlite3_bind_null(statement, index) }
        return value.bind(to: statement, at: index)
    }
}

/// One row of a query's result, its values read when the statement stepped.
struct Row: Sendable {
    /// The column names, in order.
    let columns: [String]
    /// The values, one per column.
    let values: [SQLValue]

    /// The value of column `name`; throws when there is no such column or it holds another kind
    /// of value (NULL included).
    subscript<Value: ColumnValue>(_ name: String) -> Value {
        get throws(StoreError) {
            guard let index = columns.firstIndex(of: name) else {
                throw StoreError("read column \(name)", code: SQLITE_RANGE, message: "no such column in the row")
            }
            return try value(at: index)
        }
    }

    /// The value of column `name`, nil when it is NULL.
    subscript<Value: ColumnValue>(_ name: String) -> Value? {
        get throws(StoreError) {
            guard let index = columns.firstIndex(of: name) else {
                throw StoreError("read column \(name)", code: SQLITE_RANGE, message: "no such column in the row")
            }
            return try value(at: index)
        }
    }

    /// The value at `index`; throws when it holds another kind of value (NULL included).
    func value<Value: ColumnValue>(at index: Int) throws(StoreError) -> Value {
        guard let value = Value(sqlValue: values[index]) else {
            throw StoreError("read column \(columns[index])", code: SQLITE_MISMATCH, message: "a \(values[index].kind) value is not a \(Value.self)")
        }
        return value
    }

    /// The value at `index`, nil when it is NULL.
    func value<Value: ColumnValue>(at index: Int) throws(StoreError) -> Value? {
        if values[index] == .null { return nil }
        return try value(at: index) as Value
    }
}

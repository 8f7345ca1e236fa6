import CSQLite

/// One SQLite connection: prepared statements (cached by SQL text), typed binds and columns,
/// transactions. The small wrapper this module owns instead of a database library.
///
/// Not thread-safe: ``StateStore`` hands a connection to one thread at a time (the writer under
/// its mutex, a reader taken out of the idle list), always on a blocking-I/O thread.
final class Connection: @unchecked Sendable {
    // @unchecked: the handle and the statement cache are touched by one thread at a time, as the
    // type's comment says; the class is Sendable only so that StateStore can keep it in a Mutex
    // and move it between its idle list and the thread that uses it.
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    /// The database file.
    let path: String

    /// How a transaction takes its locks.
    enum TransactionKind: String {
        /// Takes the write lock at `BEGIN`: a writer never fails half-way to upgrade its lock.
        case immediate = "BEGIN IMMEDIATE"
        /// Takes locks when first needed: for reads, a snapshot from the first `SELECT`.
        case deferred = "BEGIN DEFERRED"
    }

    /// Opens `path` (creating it when `create`), with the settings every connection of the
    /// state database uses: extended result codes, no double-quoted string literals, foreign
    /// keys enforced, `synchronous = NORMAL`, and a busy timeout of `busyTimeoutMilliseconds`.
    init(path: String, create: Bool, busyTimeoutMilliseconds: Int32 = 5000) throws(StoreError) {
        self.path = path
        // NOMUTEX: this type serializes access itself. EXRESCODE: extended codes from the start.
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        var opened: OpaquePointer?
        let code = sqlite3_open_v2(path, &opened, flags, nil)
        handle = opened
        guard code == SQLITE_OK, opened != nil else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(opened)
            handle = nil
            throw StoreError("open \(path)", code: code, message: message)
        }
        try check(rollout_sqlite3_refuse_double_quoted_strings(opened), "refuse double-quoted string literals")
        try check(sqlite3_busy_timeout(opened, busyTimeoutMilliseconds), "set the busy timeout")
        try execute("PRAGMA foreign_keys = ON")
        try execute("PRAGMA synchronous = NORMAL")
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Finalizes the cached statements and closes the connection; the last connection to the
    /// file to close checkpoints the WAL into it and removes the WAL.
    func close() throws(StoreError) {
        guard let handle else { return }
        for statement in statements.values { sqlite3_finalize(statement) }
        statements = [:]
        try check(sqlite3_close(handle), "close \(path)")
        self.handle = nil
    }

    // MARK: - Statements

    /// Runs one statement, discarding any rows.
    func execute(_ sql: String, _ arguments: [any Bindable] = []) throws(StoreError) {
        try withStatement(sql, arguments) { (step, _) throws(StoreError) in
            while try step() {}
        }
    }

    /// Runs a script of statements without arguments (a migration), with `sqlite3_exec`.
    func executeScript(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(try open(), sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard code == SQLITE_OK else {
            throw StoreError(Self.purpose(sql), code: code, message: message.map { String(cString: $0) } ?? errorMessage)
        }
    }

    /// The rows of a query.
    func rows(_ sql: String, _ arguments: [any Bindable] = []) throws(StoreError) -> [Row] {
        try withStatement(sql, arguments) { (step, statement) throws(StoreError) in
            let columns = (0..<sqlite3_column_count(statement)).map { String(cString: sqlite3_column_name(statement, $0)) }
            var rows: [Row] = []
            while try step() {
                rows.append(Row(columns: columns, values: columns.indices.map { Self.value(statement, Int32($0)) }))
            }
            return rows
        }
    }

    /// The first row of a query, or nil when it has none.
    func row(_ sql: String, _ arguments: [any Bindable] = []) throws(StoreError) -> Row? {
        try rows(sql, arguments).first
    }

    /// The first column of every row of a query; a NULL is an error.
    func values<Value: ColumnValue>(_ sql: String, _ arguments: [any Bindable] = [], as: Value.Type = Value.self) throws(StoreError) -> [Value] {
        var values: [Value] = []
        for row in try rows(sql, arguments) {
            values.append(try row.value(at: 0))
        }
        return values
    }

    /// The first column of the first row of a query; nil when there is no row or it is NULL.
    func value<Value: ColumnValue>(_ sql: String, _ arguments: [any Bindable] = [], as: Value.Type = Value.self) throws(StoreError) -> Value? {
        guard let row = try row(sql, arguments) else { return nil }
        return try row.value(at: 0) as Value?
    }

    /// The rows the last INSERT, UPDATE or DELETE changed.
    var changes: Int {
        handle.map { Int(sqlite3_changes64($0)) } ?? 0
    }

    // MARK: - Transactions

    /// Whether a transaction is open.
    var isInTransaction: Bool {
        handle.map { sqlite3_get_autocommit($0) == 0 } ?? false
    }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it (or the commit)
    /// throws.
    func transaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
        try execute(kind.rawValue)
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // A failed statement may have rolled the transaction back already (SQLITE_FULL, ...).
            if isInTransaction {
                try? execute("ROLLBACK")
            }
            throw error
        }
    }

    // MARK: - Internals

    private func open() throws(StoreError) -> OpaquePointer {
        guard let handle else { throw StoreError("use \(path)", code: SQLITE_MISUSE, message: "the connection is closed") }
        return handle
    }

    private var errorMessage: String {
        handle.map { String(cString: sqlite3_errmsg($0)) } ?? "the connection is closed"
    }

    private func check(_ code: Int32, _ what: @autoclosure () -> String) throws(StoreError) {
        guard code == SQLITE_OK else { throw StoreError(what(), code: code, message: errorMessage) }
    }

    /// The statement's purpose as errors name it: its SQL on one line, shortened.
    static func purpose(_ sql: String) -> String {
        let line = sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return line.count <= 160 ? "run \"\(line)\"" : "run \"\(line.prefix(160))...\""
    }

    /// The cached statement for `sql`, prepared on first use.
    private func statement(_ sql: String) throws(StoreError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        let handle = try open()
        var prepared: OpaquePointer?
        var rest: UnsafePointer<CChar>?
        let code = sql.withCString { text in
            let code = sqlite3_prepare_v3(handle, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, &rest)
            // Only one statement: what follows it must be blank.
            if code == SQLITE_OK, let tail = rest, tail.pointee != 0, !String(cString: tail).allSatisfy(\.isWhitespace) {
                sqlite3_finalize(prepared)
                prepared = nil
                return SQLITE_MISUSE
            }
            return code
        }
        guard code == SQLITE_OK, let prepared else {
            let message = code == SQLITE_MISUSE ? "more than one statement (use executeScript)" : errorMessage
            throw StoreError("prepare " + Self.purpose(sql).dropFirst(4), code: code, message: message)
        }
        statements[sql] = prepared
        return prepared
    }

    /// Binds `arguments` to the cached statement of `sql` and passes `body` a function that
    /// steps it (true: a row is ready); resets the statement afterwards, so that it holds no
    /// lock or snapshot once `body` returns.
    private func withStatement<T>(
        _ sql: String, _ arguments: [any Bindable], _ body: (_ step: () throws(StoreError) -> Bool, OpaquePointer) throws(StoreError) -> T
    ) throws(StoreError) -> T {
        let statement = try statement(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        let expected = Int(sqlite3_bind_parameter_count(statement))
        guard expected == arguments.count else {
            throw StoreError(Self.purpose(sql), code: SQLITE_RANGE, message: "\(arguments.count) arguments for \(expected) parameters")
        }
        for (index, argument) in arguments.enumerated() {
            let code = argument.bind(to: statement, at: Int32(index + 1))
            guard code == SQLITE_OK else {
                throw StoreError(Self.purpose(sql) + " (binding argument \(index + 1))", code: code, message: errorMessage)
            }
        }
        let step = { () throws(StoreError) -> Bool in
            switch sqlite3_step(statement) {
            case SQLITE_ROW: return true
            case SQLITE_DONE: return false
            case let code: throw StoreError(Self.purpose(sql), code: code, message: self.errorMessage)
            }
        }
        return try body(step, statement)
    }

    private static func value(_ statement: OpaquePointer, _ column: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            // Pointer first, then length (SQLite's documented order); the length counts NULs.
            let text = sqlite3_column_text(statement, column)
            let count = Int(sqlite3_column_bytes(statement, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: text == nil ? 0 : count), as: UTF8.self))
        case SQLITE_BLOB:
            let bytes = sqlite3_column_blob(statement, column)
            let count = Int(sqlite3_column_bytes(statement, column))
            guard let bytes, count > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            return .null
        }
    }
}

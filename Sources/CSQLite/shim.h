#ifndef ROLLOUT_CSQLITE_SHIM_H
#define ROLLOUT_CSQLITE_SHIM_H

#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot import: these bind
// copies. A NULL pointer would bind SQL NULL, so an empty text or blob binds a non-NULL pointer.
static inline int rollout_sqlite3_bind_text(sqlite3_stmt *statement, int index, const char *text, int length) {
    return sqlite3_bind_text(statement, index, text ? text : "", length, SQLITE_TRANSIENT);
}
static inline int rollout_sqlite3_bind_blob(sqlite3_stmt *statement, int index, const void *bytes, int length) {
    return sqlite3_bind_blob(statement, index, bytes ? bytes : "", length, SQLITE_TRANSIENT);
}

// sqlite3_db_config is variadic. Double-quoted string literals are refused (in DDL and DML), so a
// misspelt column name is an error rather than a string.
static inline int rollout_sqlite3_refuse_double_quoted_strings(sqlite3 *db) {
    int code = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)0);
    return code != SQLITE_OK ? code : sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)0);
}

#endif

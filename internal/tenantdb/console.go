package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"unsafe"

	"github.com/tenantry/tenantry/internal/fleet"
	"modernc.org/libc"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// MaxValueLength is the longest string or blob a console connection may
// make or read (SQLite's SQLITE_LIMIT_LENGTH): the time limit interrupts
// only between SQLite's steps, so without it one randomblob(4e8) took
// 400 MB and ran past the limit. Tenant values are small (names, notes,
// amounts); 4 MiB is room for any of them.
const MaxValueLength = 4 << 20

// MaxResultColumns bounds a result's columns (SQLITE_LIMIT_COLUMN): a
// row holds all its values at once, so columns times MaxValueLength is the
// most one row can take. Tenant tables have about ten columns.
const MaxResultColumns = 100

// ConsoleConn is one connection of the SQL console to a tenant's file.
type ConsoleConn struct {
	*sql.Conn
	db *sql.DB
}

// Close closes the connection.
func (c *ConsoleConn) Close() error {
	err := c.Conn.Close()
	return errors.Join(err, c.db.Close())
}

// OpenConsoleFile opens a tenant's SQLite file for the SQL console. The
// connection itself is the guard, whatever the SQL says:
//   - read-only unless write: the file is opened read-only and query_only
//     is on, and SQLite's authorizer allows only what reading needs
//     (SELECT, reading tables, functions, and the PRAGMAs of readPragmas,
//     which only report); any other statement or PRAGMA is refused when
//     it is prepared, so e.g. PRAGMA temp_store_directory, which changes
//     every connection of the process, cannot run;
//   - never another file: no database may be attached (which also stops
//     VACUUM INTO, as it attaches its target), and extensions cannot be
//     loaded (the driver never enables them);
//   - bounded values: no string or blob longer than MaxValueLength, no
//     result wider than MaxResultColumns;
//   - write mode opens the file read-write but never creates it; it may
//     write data and schema but still not ATTACH, DETACH or run a PRAGMA
//     outside readPragmas.
//
// It goes to the driver directly: the libsql client keeps a connector per
// URL for good, which a console opening thousands of files must not.
func OpenConsoleFile(ctx context.Context, path string, write bool) (*ConsoleConn, error) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fleet.Errorf(fleet.ENOTFOUND, "The tenant's database file is missing.")
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	if write {
		q.Set("mode", "rw")
	} else {
		q.Set("mode", "ro")
		q.Add("_pragma", "query_only(1)")
	}
	dsn, err := fileURL(path, q)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fleet.Errorf(fleet.EUNAVAILABLE, "Cannot open the tenant's database: %v.", err)
	}
	if err := guardConsole(conn, write); err != nil {
		conn.Close()
		db.Close()
		return nil, err
	}
	return &ConsoleConn{Conn: conn, db: db}, nil
}

// guardConsole sets the limits and the authorizer of a console connection.
func guardConsole(conn *sql.Conn, write bool) error {
	for _, l := range []struct{ id, val int }{
		{sqlite3.SQLITE_LIMIT_ATTACHED, 0},
		{sqlite3.SQLITE_LIMIT_LENGTH, MaxValueLength},
		{sqlite3.SQLITE_LIMIT_COLUMN, MaxResultColumns},
	} {
		if _, err := sqlite.Limit(conn, l.id, l.val); err != nil {
			return err
		}
	}
	return conn.Raw(func(dc any) error {
		// modernc.org/sqlite has no Go API for sqlite3_set_authorizer, so
		// it is called on the connection's handle. Should the driver ever
		// hide it, the console refuses to open rather than run unguarded.
		h, err := handleOf(dc)
		if err != nil {
			return fmt.Errorf("console guard: %w", err)
		}
		tls := libc.NewTLS()
		defer tls.Close()
		mode := authRead
		if write {
			mode = authWrite
		}
		if rc := sqlite3.Xsqlite3_set_authorizer(tls, h, authorizerFn, mode); rc != sqlite3.SQLITE_OK {
			return fmt.Errorf("console guard: sqlite3_set_authorizer: %d", rc)
		}
		return nil
	})
}

// The authorizer's argument: what the connection may do.
const (
	authRead uintptr = iota + 1
	authWrite
)

// authorizerFn is authorize as a C function pointer (the representation
// modernc.org/sqlite's own hooks use: a Go func value is a pointer to its
// code, and a top-level function's never moves).
var authorizerFn = func() uintptr {
	f := authorize
	return *(*uintptr)(unsafe.Pointer(&f))
}()

// readPragmas are the PRAGMAs a console connection may run: each only
// reports (with an argument, it names what to report on, never a new
// value). The schema browser uses table_info, index_list and index_info
// as table-valued functions, which go through here too.
var readPragmas = map[string]bool{
	"table_info": true, "table_xinfo": true, "table_list": true,
	"index_list": true, "index_info": true, "index_xinfo": true,
	"foreign_key_list": true, "foreign_key_check": true,
	"integrity_check": true, "quick_check": true,
	"database_list": true, "collation_list": true, "function_list": true,
	"module_list": true, "pragma_list": true, "compile_options": true,
}

// readSettings are PRAGMAs that read a setting when given no value and
// change it when given one: allowed only bare.
var readSettings = map[string]bool{
	"user_version": true, "schema_version": true, "application_id": true,
	"page_count": true, "page_size": true, "freelist_count": true,
	"encoding": true, "journal_mode": true, "auto_vacuum": true,
	"foreign_keys": true, "data_version": true, "max_page_count": true,
	"query_only": true, "busy_timeout": true, "cache_size": true,
	"synchronous": true, "temp_store": true, "recursive_triggers": true,
}

// authorize is SQLite's authorizer callback for console connections: it
// runs when a statement is prepared, for each thing the statement would
// do, and SQLITE_DENY makes the prepare fail with "not authorized".
func authorize(_ *libc.TLS, mode uintptr, action int32, z1, z2, _, _ uintptr) int32 {
	switch action {
	case sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
		sqlite3.SQLITE_RECURSIVE, sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT:
		return sqlite3.SQLITE_OK
	case sqlite3.SQLITE_PRAGMA:
		name := strings.ToLower(libc.GoString(z1))
		if readPragmas[name] || readSettings[name] && z2 == 0 {
			return sqlite3.SQLITE_OK
		}
		return sqlite3.SQLITE_DENY
	case sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH:
		return sqlite3.SQLITE_DENY
	}
	if mode == authWrite {
		return sqlite3.SQLITE_OK
	}
	return sqlite3.SQLITE_DENY
}

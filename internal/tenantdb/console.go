package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"

	"github.com/tenantry/tenantry/internal/fleet"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

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

// OpenFile opens an existing tenant file for reading and writing, with the
// busy timeout and immediate transactions of FileURL. It never creates the
// file, and goes to the driver directly: the libsql client keeps a
// connector per URL for good, which a rollout over thousands of files must
// not.
func OpenFile(path string) (*sql.DB, error) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fleet.Errorf(fleet.ENOTFOUND, "The tenant's database file is missing.")
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	q.Set("mode", "rw")
	dsn, err := fileURL(path, q)
	if err != nil {
		return nil, err
	}
	return sql.Open("sqlite", dsn)
}

// OpenConsoleFile opens a tenant's SQLite file for the SQL console. The
// connection itself is the guard, whatever the SQL says:
//   - read-only unless write: the file is opened read-only and query_only
//     is on, so every write, DDL and state-changing PRAGMA fails;
//   - never another file: no database may be attached (which also stops
//     VACUUM INTO, as it attaches its target), and extensions cannot be
//     loaded (the driver never enables them);
//   - write mode opens the file read-write but never creates it.
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
	if _, err := sqlite.Limit(conn, sqlite3.SQLITE_LIMIT_ATTACHED, 0); err != nil {
		conn.Close()
		db.Close()
		return nil, err
	}
	return &ConsoleConn{Conn: conn, db: db}, nil
}

// Package tenantdb opens database connections through libsql-client-go,
// for tenant databases and the central database alike, and turns their
// drivers' errors into fleet errors (Classify, in errors.go).
package tenantdb

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tursodatabase/libsql-client-go/libsql"
	_ "modernc.org/sqlite" // the driver libsql hands file: URLs to
)

// FileURL returns the libsql file: URL of a tenant's SQLite file. It sets
// only a busy timeout (writers queue instead of failing) and, for writing,
// immediate transactions (a read-then-write transaction cannot deadlock).
// It leaves the journal mode to the database: a tenant's application may
// choose WAL or not, and an admin console must not change that by opening
// it. Read-only URLs cannot write at all.
func FileURL(path string, readOnly bool) (string, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Set("_txlock", "immediate")
	}
	return fileURL(path, q)
}

// CentralURL returns the file: URL of Tenantry's own central database: WAL,
// so that the console's readers never wait for the collector's writes, and
// synchronous=NORMAL, durable at every checkpoint and fast between.
func CentralURL(path string) (string, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Statement journals (every multi-row upsert in a transaction keeps
	// one) in memory rather than in temporary files: a collection's
	// backfill wrote them a page per system call (docs/BENCHMARKS.md).
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", "immediate")
	return fileURL(path, q)
}

func fileURL(path string, q url.Values) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	// The path is escaped so that names with '?' or '#' (never tenant
	// names, but perhaps a --data directory) cannot alter the query.
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode(), nil
}

// IsFileURL reports whether u names a local file.
func IsFileURL(u string) bool { return strings.HasPrefix(u, "file:") }

// FilePath returns the filesystem path of a file: URL.
func FilePath(u string) (string, error) {
	if !IsFileURL(u) {
		return "", fmt.Errorf("not a file URL: %s", u)
	}
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	if p.Opaque != "" {
		return p.Opaque, nil
	}
	return p.Path, nil
}

// connectors caches one connector per URL. Making a file: connector opens
// a throwaway sql.DB inside libsql-client-go whose goroutine is never
// released, so each distinct URL must be turned into a connector once.
var connectors sync.Map // url string -> driver.Connector

// Open returns a *sql.DB for a libsql URL (file:, http(s):, libsql:, ws:).
// The caller closes it.
func Open(dbURL string, opts ...libsql.Option) (*sql.DB, error) {
	key := dbURL
	if len(opts) > 0 {
		// Options (tokens, headers) make a different connector; they are not
		// cached so that a rotated token takes effect.
		c, err := libsql.NewConnector(dbURL, opts...)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", Redact(dbURL), err)
		}
		return sql.OpenDB(c), nil
	}
	if c, ok := connectors.Load(key); ok {
		return sql.OpenDB(c.(driver.Connector)), nil
	}
	c, err := libsql.NewConnector(dbURL)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", Redact(dbURL), err)
	}
	actual, _ := connectors.LoadOrStore(key, c)
	return sql.OpenDB(actual.(driver.Connector)), nil
}

// Forget drops the cached connector of a URL, e.g. after its file was
// archived.
func Forget(dbURL string) { connectors.Delete(dbURL) }

// Redact strips credentials and query parameters from a URL for messages.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	p.User = nil
	p.RawQuery = ""
	return p.String()
}

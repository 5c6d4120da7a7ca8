// Package central is Tenantry's central database: the tenant registry,
// background jobs, users and sessions, the audit log and the metrics table.
// It may be a local SQLite file or any libsql URL shared by several console
// replicas.
package central

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
	"github.com/tenantry/tenantry/migrations"
	"github.com/tursodatabase/libsql-client-go/libsql"
)

// DB is the central database.
type DB struct {
	db    *sql.DB
	url   string
	now   func() time.Time
	local bool // a SQLite file in this process, not a server
	// The statements every page runs, prepared once per connection.
	sessionStmt, generationStmt *sql.Stmt
	unknown                     func(ctx context.Context, name string) bool // see OnUnknownTenant
	activityDay                 atomic.Value                                // string: the day this replica last saw the activity window end on
}

// MaxConns bounds the connections to the central database.
const MaxConns = 16

// Option configures Open.
type Option func(*DB)

// WithClock makes now the console's wall clock (default time.Now): the
// time written to the database and the day reports, sessions, tokens and
// tenants are judged by. A test sets it once here and every layer that
// holds the database agrees with it.
func WithClock(now func() time.Time) Option { return func(db *DB) { db.now = now } }

// Open opens (creating if need be) and migrates the central database at a
// libsql URL. A file: URL without query gets the pragmas every local SQLite
// connection needs.
func Open(ctx context.Context, dbURL, authToken string, options ...Option) (*DB, error) {
	var opts []libsql.Option
	if authToken != "" {
		opts = append(opts, libsql.WithAuthToken(authToken))
	}
	if tenantdb.IsFileURL(dbURL) {
		path, err := tenantdb.FilePath(dbURL)
		if err != nil {
			return nil, fleet.Errorf(fleet.EINVALID, "Central database URL %q is invalid: %v.", dbURL, err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create central database directory: %w", err)
		}
		if !strings.Contains(dbURL, "?") {
			if dbURL, err = tenantdb.CentralURL(path); err != nil {
				return nil, err
			}
		}
	}
	sdb, err := tenantdb.Open(dbURL, opts...)
	if err != nil {
		return nil, err
	}
	// Keep the connections a busy console uses open: a new SQLite
	// connection costs its set-up and a parse of the whole schema, and
	// database/sql keeps only two idle ones by default, so under load it
	// would open and close one per request. Past MaxConns, requests wait
	// for one: more would only share the same cores.
	sdb.SetMaxOpenConns(MaxConns)
	sdb.SetMaxIdleConns(MaxConns)
	sdb.SetConnMaxIdleTime(10 * time.Minute)
	db := &DB{db: sdb, url: dbURL, now: time.Now, local: tenantdb.IsFileURL(dbURL)}
	for _, o := range options {
		o(db)
	}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	if err := db.prepare(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// prepare prepares the lookups every page makes.
func (db *DB) prepare(ctx context.Context) (err error) {
	if db.sessionStmt, err = db.db.PrepareContext(ctx, sessionQuery); err != nil {
		return fmt.Errorf("prepare session lookup: %w", err)
	}
	if db.generationStmt, err = db.db.PrepareContext(ctx, generationQuery); err != nil {
		return fmt.Errorf("prepare metrics generation: %w", err)
	}
	return nil
}

// lookup is the context of a small indexed lookup on every page (a
// session, a tenant, the latest rows of a table). On a local
// file such a lookup takes microseconds, so it runs without the request's
// cancellation: a cancellable context costs two goroutines per query
// (database/sql's and the driver's watchers), and under load their
// wake-ups push requests waiting for a core to the back of the queue.
// Over the network the request's context still bounds it.
func (db *DB) lookup(ctx context.Context) context.Context {
	if db.local {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (db *DB) migrate(ctx context.Context) error {
	p, err := goose.NewProvider(goose.DialectTurso, db.db, migrations.Admin())
	if err != nil {
		return fmt.Errorf("central migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate central database %s: %w", tenantdb.Redact(db.url), err)
	}
	for _, r := range res {
		slog.Debug("central migration applied", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }

// SQL exposes the handle to tests, which plant and inspect rows behind
// the methods' backs; the code itself goes through the methods.
func (db *DB) SQL() *sql.DB { return db.db }

// Ping checks that the database answers a query (over HTTP, Ping alone
// never touches the network).
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Now is the time by the console's clock (see WithClock). Measuring how
// long something takes needs no clock: that is time.Since.
func (db *DB) Now() time.Time { return db.now() }

const timeLayout = "2006-01-02T15:04:05.000Z"

// ts formats a time for storage; the zero time is NULL.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// nullTime scans a nullable timestamp column.
type nullTime struct{ t *time.Time }

func (n nullTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*n.t = time.Time{}
		return nil
	case string:
		return n.parse(v)
	case []byte:
		return n.parse(string(v))
	case time.Time:
		*n.t = v.UTC()
		return nil
	}
	return fmt.Errorf("cannot scan %T into a time", v)
}

func (n nullTime) parse(s string) error {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return err
		}
	}
	*n.t = t.UTC()
	return nil
}

// translate turns driver errors into domain errors (tenantdb.Classify),
// naming what was not found or already exists. The driver's error stays
// the cause.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fleet.Wrap(fleet.ENOTFOUND, err, "%s not found.", what)
	case tenantdb.Code(err) == fleet.ECONFLICT:
		return fleet.Wrap(fleet.ECONFLICT, err, "%s already exists.", what)
	}
	return tenantdb.Classify(err)
}

// strings runs a query of one text column and returns its values.
func (db *DB) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// tx runs fn in a transaction.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// GetKV reads a small setting; "" if unset.
func (db *DB) GetKV(ctx context.Context, key string) (string, error) {
	var v string
	err := db.db.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetKV writes a small setting.
func (db *DB) SetKV(ctx context.Context, key, value string) error {
	_, err := db.db.ExecContext(ctx, `INSERT INTO kv(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

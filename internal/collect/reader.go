package collect

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// reader reads tenants' metrics; each collector worker owns one.
type reader interface {
	read(ctx context.Context, name string, from, to time.Time) (reading, error)
	close()
}

// reading is what a collection reads from one tenant: its metrics, and
// its schema version for the registry's mirror (-1 if it could not be
// read).
type reading struct {
	metrics []fleet.Metrics
	version int64
}

// attacher is implemented by platforms whose tenants are files that one
// connection can ATTACH (the local platform).
type attacher interface {
	AttachURI(name string) (string, error)
}

// newReader returns the best reader for p. A lock must not hold a reader
// past its per-tenant timeout (SQLite's busy wait does not notice a
// cancelled context), so it waits for locks at most busy.
func newReader(p platform.Platform, busy time.Duration) reader {
	if a, ok := p.(attacher); ok {
		return &attachReader{a: a, busy: busy}
	}
	return openReader{p: p}
}

// openReader opens each tenant's own connection: the way to every remote
// database.
type openReader struct{ p platform.Platform }

func (r openReader) read(ctx context.Context, name string, from, to time.Time) (reading, error) {
	db, err := r.p.Open(ctx, name)
	if err != nil {
		return reading{}, err
	}
	defer db.Close()
	m, err := Read(ctx, db, name, from, to)
	if err != nil {
		return reading{}, err
	}
	v, err := schema.Version(ctx, db)
	if err != nil {
		v = -1
	}
	return reading{metrics: m, version: v}, nil
}

func (openReader) close() {}

// attachReader reads local tenants through one connection per worker:
// ATTACH the tenant's file read-only, run the metrics query, DETACH. The
// three statements are prepared once, so a tenant costs a file open and a
// schema read, not a connection and a parse of the query: on a fleet of
// small stores that is most of the work.
type attachReader struct {
	a                     attacher
	busy                  time.Duration
	db                    *sql.DB
	conn                  *sql.Conn
	attach, detach, query *sql.Stmt
	versioned, version    *sql.Stmt
}

const attachedAs = "t"

func (r *attachReader) open(ctx context.Context) error {
	db, err := tenantdb.Open(fmt.Sprintf("file::memory:?_pragma=busy_timeout(%d)", max(1, r.busy.Milliseconds())))
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return err
	}
	r.db, r.conn = db, conn
	if r.attach, err = conn.PrepareContext(ctx, `ATTACH ? AS `+attachedAs); err != nil {
		r.close()
		return err
	}
	if r.detach, err = conn.PrepareContext(ctx, `DETACH `+attachedAs); err != nil {
		r.close()
		return err
	}
	return nil
}

// schemaVersion reads the attached tenant's goose version: 0 without
// goose's table, -1 if it cannot be read.
func (r *attachReader) schemaVersion(ctx context.Context) int64 {
	if r.versioned == nil { // prepared once a tenant is attached
		var err error
		if r.versioned, err = r.conn.PrepareContext(ctx, `SELECT count(*) FROM `+attachedAs+`.sqlite_master WHERE type = 'table' AND name = '`+schema.VersionTable+`'`); err != nil {
			return -1
		}
	}
	var n int
	if err := r.versioned.QueryRowContext(ctx).Scan(&n); err != nil {
		return -1
	}
	if n == 0 {
		return 0
	}
	if r.version == nil {
		var err error
		if r.version, err = r.conn.PrepareContext(ctx, `SELECT coalesce(max(version_id), 0) FROM `+attachedAs+`.`+schema.VersionTable+` WHERE is_applied`); err != nil {
			return -1
		}
	}
	var v int64
	if err := r.version.QueryRowContext(ctx).Scan(&v); err != nil {
		return -1
	}
	return v
}

func (r *attachReader) read(ctx context.Context, name string, from, to time.Time) (_ reading, err error) {
	uri, err := r.a.AttachURI(name)
	if err != nil {
		return reading{}, err
	}
	if r.conn == nil {
		if err := r.open(ctx); err != nil {
			return reading{}, err
		}
	}
	if _, err := r.attach.ExecContext(ctx, uri); err != nil {
		r.close()
		return reading{}, err
	}
	defer func() {
		if _, derr := r.detach.ExecContext(context.WithoutCancel(ctx)); derr != nil {
			r.close() // start the next tenant on a clean connection
		}
	}()
	if r.query == nil {
		// Prepared once a tenant is attached; SQLite re-prepares it by
		// itself whenever the next tenant's schema differs.
		if r.query, err = r.conn.PrepareContext(ctx, queryFor(attachedAs+".")); err != nil {
			return reading{}, unqualify(err)
		}
	}
	lo, hi := bounds(from, to)
	rows, err := r.query.QueryContext(ctx, lo, hi)
	if err != nil {
		return reading{}, unqualify(err)
	}
	m, err := scanMetrics(rows, name, from, to)
	if err != nil {
		return reading{}, unqualify(err)
	}
	return reading{metrics: m, version: r.schemaVersion(ctx)}, nil
}

// unqualify removes the attachment's schema name from SQLite's messages:
// "no such table: t.orders" means "no such table: orders" to a user.
func unqualify(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if !strings.Contains(msg, attachedAs+".") {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(msg, ": "+attachedAs+".", ": "))
}

func (r *attachReader) close() {
	for _, s := range []*sql.Stmt{r.query, r.attach, r.detach, r.versioned, r.version} {
		if s != nil {
			s.Close()
		}
	}
	if r.conn != nil {
		r.conn.Close()
	}
	if r.db != nil {
		r.db.Close()
	}
	r.query, r.attach, r.detach, r.versioned, r.version, r.conn, r.db = nil, nil, nil, nil, nil, nil, nil
}

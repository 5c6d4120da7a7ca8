package collect

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
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
// connection can ATTACH (the local platform). The attachment says which
// file the attached schema must be, checked before it is read.
type attacher interface {
	Attachment(name string) (tenantdb.Attachment, error)
}

// newReader returns the best reader for p. A lock must not hold a reader
// past its per-tenant timeout (SQLite's busy wait does not notice a
// cancelled context), so it waits for locks at most busy.
func newReader(p platform.Platform, busy time.Duration) reader {
	if a, ok := p.(attacher); ok {
		return &attachReader{a: a, busy: busy}
	}
	if o, ok := p.(oneShotter); ok {
		return oneShotReader{o: o}
	}
	return openReader{p: p}
}

// oneShotter is implemented by remote platforms that run one statement in
// one round trip (sqld): a tenant then costs one request, not a
// connection's two.
type oneShotter interface {
	QueryOnce(ctx context.Context, name, query string, args ...any) (*tenantdb.Result, error)
}

type oneShotReader struct{ o oneShotter }

func (r oneShotReader) read(ctx context.Context, name string, from, to time.Time) (reading, error) {
	return readWith(ctx, func(ctx context.Context, q string, args ...any) (rowScanner, error) {
		res, err := r.o.QueryOnce(ctx, name, q, args...)
		if err != nil {
			return nil, err
		}
		return res, nil
	}, name, from, to)
}

func (oneShotReader) close() {}

// openReader opens each tenant's own connection: the way to every remote
// database.
type openReader struct{ p platform.Platform }

func (r openReader) read(ctx context.Context, name string, from, to time.Time) (reading, error) {
	db, err := r.p.Open(ctx, name)
	if err != nil {
		return reading{}, err
	}
	defer db.Close()
	return readMain(ctx, db, name, from, to)
}

func (openReader) close() {}

// attachReader reads local tenants through one connection per worker:
// ATTACH the tenant's file read-only, run the metrics query, DETACH. The
// three statements are prepared once, so a tenant costs a file open and a
// schema read, not a connection and a parse of the query: on a fleet of
// small stores that is most of the work.
type attachReader struct {
	a              attacher
	busy           time.Duration
	db             *sql.DB
	conn           *sql.Conn
	attach, detach *sql.Stmt
	query, plain   *sql.Stmt // the metrics query with and without the version row
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

func (r *attachReader) read(ctx context.Context, name string, from, to time.Time) (_ reading, err error) {
	at, err := r.a.Attachment(name)
	if err != nil {
		return reading{}, err
	}
	if r.conn == nil {
		if err := r.open(ctx); err != nil {
			return reading{}, err
		}
	}
	if _, err := r.attach.ExecContext(ctx, at.URI); err != nil {
		r.close()
		return reading{}, err
	}
	defer func() {
		if _, derr := r.detach.ExecContext(context.WithoutCancel(ctx)); derr != nil {
			r.close() // start the next tenant on a clean connection
		}
	}()
	// The path may have been swapped for a link since it was checked: the
	// file SQLite attached must be the one that was checked.
	if err := at.Verify(ctx, r.conn, attachedAs); err != nil {
		return reading{}, err
	}
	lo, hi := bounds(from, to)
	got, err := r.run(ctx, &r.query, true, name, from, to, lo, hi)
	if noVersionTable(err) {
		// No goose table: version 0, read by the query without it. The
		// statement with it is prepared again for the next tenant.
		if r.query != nil {
			r.query.Close()
			r.query = nil
		}
		got, err = r.run(ctx, &r.plain, false, name, from, to, lo, hi)
		got.version = 0
	}
	return got, unqualify(err)
}

// run runs one of the metrics statements, preparing it once a tenant is
// attached; SQLite re-prepares it by itself whenever the next tenant's
// schema differs.
func (r *attachReader) run(ctx context.Context, stmt **sql.Stmt, withVersion bool, name string, from, to time.Time, lo, hi string) (reading, error) {
	if *stmt == nil {
		s, err := r.conn.PrepareContext(ctx, queryFor(attachedAs+".", withVersion))
		if err != nil {
			return reading{}, err
		}
		*stmt = s
	}
	rows, err := (*stmt).QueryContext(ctx, lo, hi)
	if err != nil {
		return reading{}, err
	}
	return scanMetrics(rows, name, from, to)
}

// unqualify removes the attachment's schema name from SQLite's messages:
// "no such table: t.orders" means "no such table: orders" to a user. The
// driver's error stays the cause.
func unqualify(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if !strings.Contains(msg, attachedAs+".") {
		return err
	}
	return &unqualified{msg: strings.ReplaceAll(msg, ": "+attachedAs+".", ": "), err: err}
}

// unqualified is an error told in the tenant's own names.
type unqualified struct {
	msg string
	err error
}

func (e *unqualified) Error() string { return e.msg }
func (e *unqualified) Unwrap() error { return e.err }

func (r *attachReader) close() {
	for _, s := range []*sql.Stmt{r.query, r.plain, r.attach, r.detach} {
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
	r.query, r.plain, r.attach, r.detach, r.conn, r.db = nil, nil, nil, nil, nil, nil
}

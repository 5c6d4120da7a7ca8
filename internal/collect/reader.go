package collect

import (
	"context"
	"errors"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// reader reads tenants' metrics; each collector worker owns one.
type reader interface {
	read(ctx context.Context, t task, from, to time.Time) (reading, error)
	close()
}

// reading is what a collection reads from one tenant: its metrics, and
// its schema version for the registry's mirror (-1 if it could not be
// read).
type reading struct {
	metrics []fleet.Metrics
	version int64
	cookie  uint32 // the schema cookie the version goes with; 0 if unknown
}

// attacher is implemented by platforms whose tenants are files (the
// local platform). The attachment says which file SQLite must turn out to
// have opened, checked before it is read; AttachmentOf takes the identity
// already seen by the platform's Stamps.
type attacher interface {
	Attachment(name string) (tenantdb.Attachment, error)
	AttachmentOf(name string, id tenantdb.FileID) (tenantdb.Attachment, error)
}

// newReader returns the best reader for p. A lock must not hold a reader
// past its per-tenant timeout (SQLite's busy wait does not notice a
// cancelled context), so it waits for locks at most busy.
func newReader(p platform.Platform, busy time.Duration) reader {
	if a, ok := p.(attacher); ok {
		return &fileReader{a: a, busy: busy, la: tenantdb.NewLookaside(lookasideSlot, lookasideSlots)}
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

func (r oneShotReader) read(ctx context.Context, t task, from, to time.Time) (reading, error) {
	name := t.name
	return readWith(ctx, func(ctx context.Context, q string, args ...any) (rowScanner, error) {
		res, err := r.o.QueryOnce(ctx, name, q, args...)
		if err != nil {
			return nil, err
		}
		return res, nil
	}, name, from, to)
}

func (oneShotReader) close() {}

// lookasideSlot and lookasideSlots size each worker's lookaside: room
// for SQLite's small allocations while it reads a store's schema and
// prepares the metrics statement, which otherwise contend for the shared
// allocator's lock (4x SQLite's default; more measured no faster).
const lookasideSlot, lookasideSlots = 1200, 200

// fileReader reads each local tenant through a fresh read-only
// connection of its own: a store costs what a bare program opening it
// would (docs/BENCHMARKS.md), where a connection kept from store to
// store would re-prepare every statement after each ATTACH. The
// worker's lookaside memory goes from one connection to the next.
type fileReader struct {
	a    attacher
	busy time.Duration
	la   *tenantdb.Lookaside
}

func (r *fileReader) read(ctx context.Context, t task, from, to time.Time) (reading, error) {
	name := t.name
	at, err := r.a.AttachmentOf(name, t.id)
	if err != nil {
		return reading{}, err
	}
	c, err := at.OpenReadOnly(ctx, r.busy, r.la)
	if errors.Is(err, tenantdb.ErrSwapped) && t.id != (tenantdb.FileID{}) {
		// Replaced since the platform looked (a restore, say): look again.
		// Only a regular file in the tenants directory is ever read.
		if at, err = r.a.Attachment(name); err == nil {
			c, err = at.OpenReadOnly(ctx, r.busy, r.la)
		}
	}
	if err != nil {
		return reading{}, err
	}
	defer c.Close()
	// A migration changes the schema, and with it the schema cookie: while
	// the cookie is the one the version was read at today, the statement
	// leaves the version out, which makes it a good deal cheaper
	// (docs/BENCHMARKS.md). A migration that changes data only is seen the
	// next day; a cookie read in passing of a write may be stale, and the
	// next collection corrects it.
	cookie, _ := c.SchemaCookie() // 0 when unknown
	query := func(ctx context.Context, q string, args ...any) (rowScanner, error) {
		return c.Query(ctx, q, args...)
	}
	if cookie != 0 && cookie == t.cookie && t.version >= 0 && t.fresh {
		return readWithout(ctx, query, name, from, to)
	}
	got, err := readWith(ctx, query, name, from, to)
	got.cookie = cookie
	return got, err
}

func (r *fileReader) close() { r.la.Free() }

// openReader opens each tenant's own connection: the way to every remote
// database.
type openReader struct{ p platform.Platform }

func (r openReader) read(ctx context.Context, t task, from, to time.Time) (reading, error) {
	name := t.name
	db, err := r.p.Open(ctx, name)
	if err != nil {
		return reading{}, err
	}
	defer db.Close()
	return readMain(ctx, db, name, from, to)
}

func (openReader) close() {}

package tenantdb

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"syscall"
	"time"

	"modernc.org/libc"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ReadOnly is a fresh read-only connection to one tenant file, made by
// the driver itself: no pool, no cached connector, no statement kept. It
// is the collector's way to read thousands of small tenants once each,
// where a pool's or a kept connection's bookkeeping would cost more than
// the read (see docs/BENCHMARKS.md).
type ReadOnly struct {
	c  driver.Conn
	h  uintptr    // its sqlite3*
	la *Lookaside // in use until Close
}

// Lookaside is memory SQLite keeps its small allocations in, for one
// connection at a time: the collector's worker reuses one from store to
// store, so that preparing each store's statement takes no locks of the
// shared allocator (see docs/BENCHMARKS.md).
type Lookaside struct {
	buf       uintptr
	slot, cnt int32
	inUse     bool
}

// NewLookaside allocates cnt slots of slot bytes.
func NewLookaside(slot, cnt int) *Lookaside {
	l := &Lookaside{slot: int32(slot), cnt: int32(cnt)}
	l.alloc()
	return l
}

// alloc takes new memory, free for the next connection.
func (l *Lookaside) alloc() {
	tls := libc.NewTLS()
	defer tls.Close()
	l.buf, l.inUse = libc.Xmalloc(tls, libc.Tsize_t(l.slot*l.cnt)), false
}

// Free releases the memory; no connection may be using it.
func (l *Lookaside) Free() {
	if l == nil || l.buf == 0 {
		return
	}
	if l.inUse {
		panic("tenantdb: lookaside freed while a connection uses it")
	}
	tls := libc.NewTLS()
	defer tls.Close()
	libc.Xfree(tls, l.buf)
	l.buf = 0
}

// OpenReadOnly opens the file read-only, waiting at most busy for a
// writer's lock, and checks that SQLite holds the very file that was
// identified (see the top of confine.go) before anything reads it.
func (a Attachment) OpenReadOnly(ctx context.Context, busy time.Duration, la *Lookaside) (*ReadOnly, error) {
	c, err := (&sqlite.Driver{}).Open(a.URI)
	if err != nil {
		return nil, err
	}
	// The busy timeout is set through the C API: as a PRAGMA in the URI
	// it would cost a statement's parse on every open.
	h, err := handleOf(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	tls := libc.NewTLS()
	sqlite3.Xsqlite3_busy_timeout(tls, h, int32(min(max(1, busy.Milliseconds()), math.MaxInt32)))
	var used *Lookaside
	if la != nil && la.buf != 0 && !la.inUse {
		va := libc.NewVaList(la.buf, la.slot, la.cnt)
		if sqlite3.Xsqlite3_db_config(tls, h, sqlite3.SQLITE_DBCONFIG_LOOKASIDE, va) == sqlite3.SQLITE_OK {
			la.inUse, used = true, la
		}
		libc.Xfree(tls, va)
	}
	tls.Close()
	ro := &ReadOnly{c: c, h: h, la: used}
	if err := a.File.check(ctx, c, "main", a.ID, false); err != nil {
		ro.Close()
		return nil, err
	}
	return ro, nil
}

// Close closes the connection. Its lookaside is free for the next one
// only if the connection is gone for good: SQLite keeps a connection
// with unfinished statements open as a "zombie", still using the memory,
// so then the lookaside is given up (kept, never reused or freed).
func (r *ReadOnly) Close() error {
	if r.la == nil {
		return r.c.Close()
	}
	tls := libc.NewTLS()
	pending := sqlite3.Xsqlite3_next_stmt(tls, r.h, 0) != 0
	tls.Close()
	err := r.c.Close()
	if pending || err != nil {
		r.la.alloc() // the old memory is left to the zombie
	} else {
		r.la.inUse = false
	}
	return err
}

// SchemaCookie reads the schema cookie from the header of the database
// file the connection has open: a number SQLite changes with every change
// of the schema. It is read without a lock, before any statement, and
// only in rollback-journal mode (ok is false in WAL mode, where the
// header in the file may be older than the WAL's). A caller may use it
// only as a hint whose staleness corrects itself.
func (r *ReadOnly) SchemaCookie() (cookie uint32, ok bool) {
	fd, _, err := fileOf(r.h, "main", sqlite3.SQLITE_FCNTL_FILE_POINTER, 0)
	if err != nil {
		return 0, false
	}
	var hdr [100]byte
	if n, err := syscall.Pread(fd, hdr[:], 0); err != nil || n < len(hdr) || !bytes.Equal(hdr[:len(sqliteHeader)], sqliteHeader) {
		return 0, false
	}
	if hdr[18] == 2 || hdr[19] == 2 { // WAL
		return 0, false
	}
	return binary.BigEndian.Uint32(hdr[40:44]), true
}

// Query runs one statement; its rows must be closed before the next.
func (r *ReadOnly) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	q, ok := r.c.(driver.QueryerContext)
	if !ok {
		return nil, fmt.Errorf("driver connection %T cannot query", r.c)
	}
	rows, err := q.QueryContext(ctx, query, named)
	if err != nil {
		return nil, err
	}
	return &Rows{rows: rows, row: make([]driver.Value, len(rows.Columns()))}, nil
}

// Rows are a ReadOnly query's rows, read as with database/sql for the
// destinations Scan knows.
type Rows struct {
	rows driver.Rows
	row  []driver.Value
	err  error
}

// Next advances to the next row, false at the end or on an error (Err).
func (r *Rows) Next() bool {
	if r.err != nil {
		return false
	}
	if err := r.rows.Next(r.row); err != nil {
		if !errors.Is(err, io.EOF) {
			r.err = err
		}
		return false
	}
	return true
}

// Err is the error that ended Next, if any.
func (r *Rows) Err() error { return r.err }

// Close ends the statement.
func (r *Rows) Close() error { return r.rows.Close() }

// Scan copies the current row into dest: *string, *sql.NullString,
// *int64, *float64 or *any, one per column.
func (r *Rows) Scan(dest ...any) error {
	if len(dest) != len(r.row) {
		return fmt.Errorf("scan: %d destinations for %d columns", len(dest), len(r.row))
	}
	for i, v := range r.row {
		if err := assign(dest[i], v); err != nil {
			return fmt.Errorf("scan column %d: %w", i, err)
		}
	}
	return nil
}

// assign copies a driver value into dest, converting as database/sql
// would for the destinations the collector and the remote reader use.
func assign(dest any, v driver.Value) error {
	switch d := dest.(type) {
	case *any:
		*d = v
		return nil
	case *sql.NullString:
		if v == nil {
			*d = sql.NullString{}
			return nil
		}
		var s string
		if err := assign(&s, v); err != nil {
			return err
		}
		*d = sql.NullString{String: s, Valid: true}
		return nil
	case *string:
		switch v := v.(type) {
		case string:
			*d = v
		case []byte:
			*d = string(v)
		case int64:
			*d = strconv.FormatInt(v, 10)
		case float64:
			*d = strconv.FormatFloat(v, 'g', -1, 64)
		default:
			return fmt.Errorf("cannot read %T as text", v)
		}
		return nil
	case *int64:
		// As database/sql reads a number: from its text, so a whole real
		// reads and any other fails.
		var s string
		if v != nil {
			if err := assign(&s, v); err != nil {
				return err
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("cannot read %v (%T) as an integer", v, v)
		}
		*d = n
		return nil
	case *float64:
		switch v := v.(type) {
		case int64:
			*d = float64(v)
		case float64:
			*d = v
		default:
			return fmt.Errorf("cannot read %T as a number", v)
		}
		return nil
	}
	return fmt.Errorf("unsupported destination %T", dest)
}

// PrepareOnly TEMP
func (r *ReadOnly) PrepareOnly(q string) error {
	s, err := r.c.Prepare(q)
	if err != nil {
		return err
	}
	return s.Close()
}

package local

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

var _ platform.Snapshotter = (*Platform)(nil)

// streamMax is the largest tenant whose snapshot is streamed out of one
// read transaction; a larger one is copied with the backup API first, so
// that in rollback-journal mode its writers wait for the copy only, not
// for the check and the compression too.
var streamMax int64 = 32 << 20

// pageCache is the page cache of a large tenant's backup connections:
// the pages are read once, and with this driver every page a larger cache
// holds costs an allocation and a free.
const pageCache = "16"

// WriteSnapshot implements platform.Snapshotter.
func (p *Platform) WriteSnapshot(ctx context.Context, name, tempDir string, w io.Writer) (int64, error) {
	f, err := p.file(name)
	if err != nil {
		return 0, err
	}
	d, err := p.describe(name, f.Path())
	if err != nil {
		return 0, err
	}
	if d.SizeBytes > streamMax {
		return p.snapshotViaFile(ctx, f, tempDir, w)
	}
	db, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	// Pages read through a memory map: no read call and no page-cache
	// buffer per page, about a third of a fleet snapshot's time. The map
	// is read inside the read transaction only, while no SQLite writer
	// can shrink the file (in rollback mode they wait for the lock; in
	// WAL mode a checkpoint does not truncate past a reader).
	if _, err := conn.ExecContext(ctx, `PRAGMA mmap_size = `+strconv.FormatInt(streamMax, 10)); err != nil {
		return 0, err
	}
	// The file read below, if it is read, must be the one SQLite has open.
	file, id, err := f.OpenRegular()
	if err != nil {
		return 0, err
	}
	defer file.Close()
	if err := f.Verify(ctx, conn, "main", id); err != nil {
		return 0, err
	}
	// One read transaction (a plain BEGIN: the connection's own is
	// IMMEDIATE, which would take the write lock): the pages checked are
	// the pages written, and no commit comes between them.
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := tenantdb.Check(ctx, tx, "quick_check"); err != nil {
		return 0, err
	}
	// Plain pragmas: the same as one SELECT over their table-valued
	// functions, which costs more to prepare than the three to run.
	var mode string
	var pages, pageSize int64
	for _, p := range []struct {
		q string
		v any
	}{{`PRAGMA journal_mode`, &mode}, {`PRAGMA page_count`, &pages}, {`PRAGMA page_size`, &pageSize}} {
		if err := tx.QueryRowContext(ctx, p.q).Scan(p.v); err != nil {
			return 0, err
		}
	}
	if mode != "wal" {
		size := pages * pageSize
		// Outside WAL mode the file holds every committed page, and the
		// transaction's shared lock keeps writers off it until it ends:
		// its first size bytes are the pages checked. Read straight into
		// w (the encoder's own buffer, which reads for itself), not page
		// by page through SQL: a tenth of a fleet snapshot's time.
		n, err := io.Copy(w, io.NewSectionReader(file, 0, size))
		if err == nil && n != size {
			err = fmt.Errorf("snapshot of %s: read %d bytes of %d", f.Path(), n, size)
		}
		return n, err
	}
	// In WAL mode the newest pages may be in the WAL: read each page as
	// the transaction sees it.
	rows, err := tx.QueryContext(ctx, `SELECT data FROM sqlite_dbpage ORDER BY pgno`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	var page sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&page); err != nil {
			return n, err
		}
		k, err := w.Write(page)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, rows.Err()
}

// snapshotViaFile copies the tenant with the online backup API into a
// work file (no journal, no sync: it is scratch), checks it, and writes
// it to w.
func (p *Platform) snapshotViaFile(ctx context.Context, f tenantdb.TenantFile, tempDir string, w io.Writer) (int64, error) {
	tmp, err := os.CreateTemp(tempDir, "copy-*.db")
	if err != nil {
		return 0, err
	}
	tmp.Close()
	defer removeDB(tmp.Name())
	abs, err := filepath.Abs(tmp.Name())
	if err != nil {
		return 0, err
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(off)")
	q.Add("_pragma", "synchronous(off)")
	q.Add("_pragma", "cache_size("+pageCache+")")
	if err := backup(ctx, f, "file:"+(&url.URL{Path: abs}).EscapedPath()+"?"+q.Encode(), `PRAGMA cache_size = `+pageCache); err != nil {
		return 0, err
	}
	if err := tenantdb.CheckScratch(ctx, abs, "quick_check"); err != nil {
		return 0, err
	}
	cf, err := os.Open(abs)
	if err != nil {
		return 0, err
	}
	defer cf.Close()
	return io.Copy(w, cf)
}

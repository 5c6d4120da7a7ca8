package tenantdb

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenantry/tenantry/internal/fleet"
)

// A Dump is a SQLite file being written out as SQL: the statements that
// rebuild it in an empty database, like sqlite3's .dump. Everything is
// read in one read transaction, so what it gives is consistent, however
// often it is asked.
type Dump struct {
	dir     string // removed on Close: OpenUpload's
	db      *sql.DB
	tx      *sql.Tx
	objects []schemaObject // in creation order
	// UserVersion is the file's user_version, which no statement of
	// Statements sets.
	UserVersion int64
}

type schemaObject struct{ typ, name, sql string }

// OpenDump opens the SQLite file at path read-only and reads its schema.
// A file with a virtual table is refused: its shadow tables cannot be
// copied as plain tables. The caller closes the Dump.
func OpenDump(ctx context.Context, path string) (*Dump, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	dsn, err := fileURL(path, q)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	d := &Dump{db: db}
	if err := d.readSchema(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// OpenUpload copies src into a new file in a new directory under tempDir
// ("" for the system's), refuses it unless it is an intact SQLite
// database (see CheckFile), and opens it as a Dump, whose Close removes
// the file: an import's first step.
func OpenUpload(ctx context.Context, tempDir string, src io.Reader) (*Dump, error) {
	dir, err := os.MkdirTemp(tempDir, "tenantry-import-")
	if err != nil {
		return nil, err
	}
	d, err := openUpload(ctx, filepath.Join(dir, "upload.db"), src)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	d.dir = dir
	return d, nil
}

func openUpload(ctx context.Context, path string, src io.Reader) (*Dump, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fleet.Errorf(fleet.EINVALID, "Could not read the file to import: %v.", err)
	}
	if err := CheckFile(ctx, path); err != nil {
		return nil, err
	}
	return OpenDump(ctx, path)
}

func (d *Dump) readSchema(ctx context.Context) error {
	var err error
	if d.tx, err = d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err != nil {
		return err
	}
	if err := d.tx.QueryRowContext(ctx, `SELECT user_version FROM pragma_user_version`).Scan(&d.UserVersion); err != nil {
		return err
	}
	rows, err := d.tx.QueryContext(ctx, `SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var o schemaObject
		if err := rows.Scan(&o.typ, &o.name, &o.sql); err != nil {
			return err
		}
		if o.typ == "table" && strings.HasPrefix(strings.ToUpper(strings.TrimSpace(o.sql)), "CREATE VIRTUAL TABLE") {
			return fleet.Errorf(fleet.EINVALID, "The file has a virtual table (%s), which cannot be copied as SQL.", fleet.Truncate(o.name, 60))
		}
		d.objects = append(d.objects, o)
	}
	return rows.Err()
}

// Close ends the read and closes the file (and removes OpenUpload's).
func (d *Dump) Close() error {
	if d.tx != nil {
		d.tx.Rollback()
	}
	err := d.db.Close()
	if d.dir != "" {
		if rerr := os.RemoveAll(d.dir); err == nil {
			err = rerr
		}
	}
	return err
}

// Counts returns the row count of every table of the file but SQLite's
// own, as TableCounts does.
func (d *Dump) Counts(ctx context.Context) (map[string]int64, error) {
	return TableCounts(ctx, d.tx)
}

// Statements hands emit, without a ';', the statements that rebuild the
// file in an empty database: tables and their rows, the AUTOINCREMENT
// counters, then indexes, triggers and views (so that triggers do not
// fire on the copied rows). Rows go in file order, not in the order
// foreign keys want, so they must be off where the statements run. The
// user_version is left to the caller. Each INSERT holds up to
// rowsPerInsert rows and grows no further once it has bytesPerInsert
// bytes; every value is written by SQLite's quote() (text escaped, blobs
// in hex, reals exact), so no value passes through a Go type.
func (d *Dump) Statements(ctx context.Context, rowsPerInsert, bytesPerInsert int, emit func(stmt string) error) error {
	sequence := false
	for _, o := range d.objects {
		switch {
		case o.typ != "table":
		case o.name == "sqlite_sequence":
			sequence = true
		case strings.HasPrefix(o.name, "sqlite_"): // sqlite_stat*: ANALYZE makes them
		default:
			if err := emit(o.sql); err != nil {
				return err
			}
			if err := d.rows(ctx, o.name, rowsPerInsert, bytesPerInsert, emit); err != nil {
				return err
			}
		}
	}
	if sequence {
		if err := emit(`DELETE FROM sqlite_sequence`); err != nil {
			return err
		}
		if err := d.rows(ctx, "sqlite_sequence", rowsPerInsert, bytesPerInsert, emit); err != nil {
			return err
		}
	}
	for _, o := range d.objects {
		if o.typ != "table" {
			if err := emit(o.sql); err != nil {
				return err
			}
		}
	}
	return nil
}

// rows emits a table's rows as INSERTs. Generated columns are left out.
func (d *Dump) rows(ctx context.Context, table string, rowsPerInsert, bytesPerInsert int, emit func(string) error) error {
	var cols []string
	rs, err := d.tx.QueryContext(ctx, `SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0 ORDER BY cid`, table)
	if err != nil {
		return err
	}
	for rs.Next() {
		var c string
		if err := rs.Scan(&c); err != nil {
			rs.Close()
			return err
		}
		cols = append(cols, QuoteIdent(c))
	}
	rs.Close()
	if err := rs.Err(); err != nil || len(cols) == 0 {
		return err
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = "quote(" + c + ")"
	}
	rs, err = d.tx.QueryContext(ctx, `SELECT `+strings.Join(quoted, ` || ',' || `)+` FROM `+QuoteIdent(table))
	if err != nil {
		return err
	}
	defer rs.Close()
	prefix := "INSERT INTO " + QuoteIdent(table) + "(" + strings.Join(cols, ",") + ") VALUES"
	var b strings.Builder
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		stmt := b.String()
		b.Reset()
		n = 0
		return emit(stmt)
	}
	for rs.Next() {
		var values string
		if err := rs.Scan(&values); err != nil {
			return err
		}
		if n == 0 {
			b.WriteString(prefix)
		} else {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		b.WriteString(values)
		b.WriteByte(')')
		n++
		if n >= rowsPerInsert || b.Len() >= bytesPerInsert {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rs.Err(); err != nil {
		return err
	}
	return flush()
}

// Write writes the file as SQL text, the way sqlite3's .dump does and
// sqld's /dump answers (and sqld's dump_url takes): the statements in one
// transaction, one row per INSERT, the user_version inside it (sqld
// refuses a dump with any statement but foreign_keys before BEGIN).
func (d *Dump) Write(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n")
	if d.UserVersion != 0 {
		fmt.Fprintf(bw, "PRAGMA user_version=%d;\n", d.UserVersion)
	}
	err := d.Statements(ctx, 1, 0, func(stmt string) error {
		bw.WriteString(stmt)
		_, err := bw.WriteString(";\n")
		return err
	})
	if err != nil {
		return err
	}
	bw.WriteString("COMMIT;\n")
	return bw.Flush()
}

// A statement of a replay holds at most this many rows and about this
// many bytes: few round trips, and requests of a modest size.
const (
	replayRows  = 500
	replayBytes = 256 << 10
)

// A ReplayError is a statement that failed in the database a dump was
// replayed into, as opposed to a failure to read the file.
type ReplayError struct{ Err error }

func (e *ReplayError) Error() string { return e.Err.Error() }
func (e *ReplayError) Unwrap() error { return e.Err }

// Replay rebuilds the file in the empty database of conn: foreign keys
// off, Statements with many rows per INSERT, then the user_version. The
// statements run one by one on the one connection (over Hrana, one
// stream, so the PRAGMA holds for all of them), each its own request: a
// large file makes many requests of a modest size, never one giant one
// (libsql-client-go would send a multi-statement string as one batch).
// They run outside a transaction: a copy that fails half-way is for the
// caller to discard. A statement that fails in conn's database is
// returned as a *ReplayError.
func (d *Dump) Replay(ctx context.Context, conn *sql.Conn) error {
	exec := func(stmt string) error {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return &ReplayError{Err: err}
		}
		return nil
	}
	if err := exec(`PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	if err := d.Statements(ctx, replayRows, replayBytes, exec); err != nil {
		return err
	}
	if d.UserVersion != 0 {
		return exec(fmt.Sprintf(`PRAGMA user_version = %d`, d.UserVersion))
	}
	return nil
}

// QuoteIdent quotes an SQL identifier.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// LoadDump makes a new SQLite file at path from an SQL dump (Dump.Write's,
// or sqld's /dump) and sets its user_version, which sqld's /dump leaves
// out (setting it also gives the file of a dump without tables a header).
// It refuses to overwrite a file.
func LoadDump(ctx context.Context, dump string, userVersion int64, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	q := url.Values{}
	q.Set("mode", "rw")
	dsn, err := fileURL(path, q)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, dump); err != nil {
		return fmt.Errorf("load the dump: %w", err)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, userVersion)); err != nil {
		return fmt.Errorf("set the user_version: %w", err)
	}
	return db.Close()
}

// A Querier runs queries: *sql.DB, *sql.Conn and *sql.Tx are Queriers.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// TableCounts returns the row count of every table of a database but
// SQLite's own: enough to tell whether a copy arrived whole.
func TableCounts(ctx context.Context, db Querier) (map[string]int64, error) {
	names, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var parts []string
	for names.Next() {
		var t string
		if err := names.Scan(&t); err != nil {
			names.Close()
			return nil, err
		}
		parts = append(parts, fmt.Sprintf(`SELECT %s, count(*) FROM %s`, quoteText(t), QuoteIdent(t)))
	}
	names.Close()
	if err := names.Err(); err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(parts))
	if len(parts) == 0 {
		return counts, nil
	}
	// One statement, so that a remote database costs one round trip.
	rows, err := db.QueryContext(ctx, strings.Join(parts, " UNION ALL "))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		counts[t] = n
	}
	return counts, rows.Err()
}

func quoteText(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// CopyDumpAsFile loads a dump (and its user_version) into a new SQLite
// file under tempDir ("" for the system's) and copies the file to w: how
// a remote database is exported. what names the dump in errors, e.g.
// `sqld's dump of "store-1"`.
func CopyDumpAsFile(ctx context.Context, dump string, userVersion int64, tempDir, what string, w io.Writer) error {
	dir, err := os.MkdirTemp(tempDir, "tenantry-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "export.db")
	if err := LoadDump(ctx, dump, userVersion, path); err != nil {
		return fleet.Errorf(fleet.EUNAVAILABLE, "%s did not load into a SQLite file: %v.", what, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

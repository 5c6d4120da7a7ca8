package turso

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// A statement of a replayed file holds at most this many rows and about
// this many bytes: few round trips, and requests of a modest size.
const (
	dumpRows  = 500
	dumpBytes = 256 << 10
)

// sqliteFile is a SQLite file being replayed as SQL into a database
// elsewhere (like sqlite3's .dump, but statement by statement and with
// many rows per INSERT).
type sqliteFile struct {
	db      *sql.DB
	objects []schemaObject // in creation order
	version int64          // user_version
}

type schemaObject struct{ typ, name, sql string }

// openSQLiteFile opens a checked SQLite file read-only and reads its
// schema. A file with virtual tables is refused: their shadow tables
// cannot be copied as plain tables.
func openSQLiteFile(ctx context.Context, path string) (*sqliteFile, error) {
	u, err := tenantdb.FileURL(path, true)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", u)
	if err != nil {
		return nil, err
	}
	f := &sqliteFile{db: db}
	if err := f.readSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return f, nil
}

func (f *sqliteFile) Close() error { return f.db.Close() }

func (f *sqliteFile) readSchema(ctx context.Context) error {
	if err := f.db.QueryRowContext(ctx, `SELECT user_version FROM pragma_user_version`).Scan(&f.version); err != nil {
		return err
	}
	rows, err := f.db.QueryContext(ctx, `SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid`)
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
			return fleet.Errorf(fleet.EINVALID, "The file has a virtual table (%s), which cannot be imported into Turso as SQL.", fleet.Truncate(o.name, 60))
		}
		f.objects = append(f.objects, o)
	}
	return rows.Err()
}

// dump hands emit the statements that rebuild the file in an empty
// database: tables and their rows, the AUTOINCREMENT counters, then
// indexes, triggers and views (so that triggers do not fire on the copied
// rows), and the user_version. It returns each table's row count.
func (f *sqliteFile) dump(ctx context.Context, emit func(string) error) (map[string]int64, error) {
	// Rows are copied in file order, not in the order foreign keys want.
	if err := emit(`PRAGMA foreign_keys = OFF`); err != nil {
		return nil, err
	}
	counts := make(map[string]int64)
	sequence := false
	for _, o := range f.objects {
		switch {
		case o.typ != "table":
		case o.name == "sqlite_sequence":
			sequence = true
		case strings.HasPrefix(o.name, "sqlite_"): // sqlite_stat*: ANALYZE makes them
		default:
			if err := emit(o.sql); err != nil {
				return nil, err
			}
			n, err := f.rows(ctx, o.name, emit)
			if err != nil {
				return nil, err
			}
			counts[o.name] = n
		}
	}
	if sequence {
		if err := emit(`DELETE FROM sqlite_sequence`); err != nil {
			return nil, err
		}
		if _, err := f.rows(ctx, "sqlite_sequence", emit); err != nil {
			return nil, err
		}
	}
	for _, o := range f.objects {
		if o.typ != "table" {
			if err := emit(o.sql); err != nil {
				return nil, err
			}
		}
	}
	if f.version != 0 {
		if err := emit(fmt.Sprintf(`PRAGMA user_version = %d`, f.version)); err != nil {
			return nil, err
		}
	}
	return counts, nil
}

// rows emits a table's rows as INSERTs of many rows each, every value
// written by SQLite's quote() (text escaped, blobs in hex, reals exact),
// so no value passes through a Go type. Generated columns are left out.
func (f *sqliteFile) rows(ctx context.Context, table string, emit func(string) error) (int64, error) {
	var cols []string
	rs, err := f.db.QueryContext(ctx, `SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0 ORDER BY cid`, table)
	if err != nil {
		return 0, err
	}
	for rs.Next() {
		var c string
		if err := rs.Scan(&c); err != nil {
			rs.Close()
			return 0, err
		}
		cols = append(cols, quoteIdent(c))
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, err
	}
	if len(cols) == 0 {
		return 0, nil
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = "quote(" + c + ")"
	}
	rs, err = f.db.QueryContext(ctx, `SELECT `+strings.Join(quoted, ` || ',' || `)+` FROM `+quoteIdent(table))
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	prefix := "INSERT INTO " + quoteIdent(table) + "(" + strings.Join(cols, ",") + ") VALUES "
	var b strings.Builder
	var n, inBatch int64
	flush := func() error {
		if inBatch == 0 {
			return nil
		}
		stmt := b.String()
		b.Reset()
		inBatch = 0
		return emit(stmt)
	}
	for rs.Next() {
		var values string
		if err := rs.Scan(&values); err != nil {
			return 0, err
		}
		if inBatch == 0 {
			b.WriteString(prefix)
		} else {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		b.WriteString(values)
		b.WriteByte(')')
		n++
		inBatch++
		if inBatch >= dumpRows || b.Len() >= dumpBytes {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rs.Err(); err != nil {
		return 0, err
	}
	return n, flush()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// tableCounts counts the rows of every table but SQLite's own, in one
// statement (one round trip to a remote database).
func tableCounts(ctx context.Context, conn *sql.Conn) (map[string]int64, error) {
	rows, err := conn.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var parts []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, err
		}
		parts = append(parts, fmt.Sprintf(`SELECT '%s', count(*) FROM %s`, strings.ReplaceAll(t, `'`, `''`), quoteIdent(t)))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(parts))
	if len(parts) == 0 {
		return counts, nil
	}
	rows, err = conn.QueryContext(ctx, strings.Join(parts, " UNION ALL "))
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

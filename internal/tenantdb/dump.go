package tenantdb

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/tenantry/tenantry/internal/fleet"
)

// WriteDump writes a SQLite file as SQL, the way sqlite3's .dump does and
// sqld's /dump answers: tables and their rows, the AUTOINCREMENT counters,
// then indexes, triggers and views, in one transaction, with the file's
// user_version first. It reads in one read transaction, so the dump is
// consistent. Virtual tables are refused: their shadow tables cannot be
// dumped as plain tables.
func WriteDump(ctx context.Context, path string, w io.Writer) error {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	dsn, err := fileURL(path, q)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	bw := bufio.NewWriterSize(w, 64<<10)
	var version int64
	if err := tx.QueryRowContext(ctx, `SELECT user_version FROM pragma_user_version`).Scan(&version); err != nil {
		return err
	}
	if version != 0 {
		fmt.Fprintf(bw, "PRAGMA user_version=%d;\n", version)
	}
	bw.WriteString("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n")
	type object struct{ typ, name, sql string }
	rows, err := tx.QueryContext(ctx, `SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid`)
	if err != nil {
		return err
	}
	var objects []object
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.typ, &o.name, &o.sql); err != nil {
			rows.Close()
			return err
		}
		objects = append(objects, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	hasSequence := false
	for _, o := range objects {
		if o.typ != "table" {
			continue
		}
		if strings.HasPrefix(strings.ToUpper(o.sql), "CREATE VIRTUAL TABLE") {
			return fleet.Errorf(fleet.EINVALID, "The database has a virtual table (%s), which cannot be copied as SQL.", o.name)
		}
		if o.name == "sqlite_sequence" {
			hasSequence = true
			continue
		}
		if strings.HasPrefix(o.name, "sqlite_") {
			continue // sqlite_stat*: SQLite's own, made again by ANALYZE
		}
		fmt.Fprintf(bw, "%s;\n", o.sql)
		if err := dumpRows(ctx, tx, bw, o.name); err != nil {
			return err
		}
	}
	if hasSequence {
		bw.WriteString("DELETE FROM sqlite_sequence;\n")
		if err := dumpRows(ctx, tx, bw, "sqlite_sequence"); err != nil {
			return err
		}
	}
	for _, o := range objects {
		if o.typ != "table" {
			fmt.Fprintf(bw, "%s;\n", o.sql)
		}
	}
	bw.WriteString("COMMIT;\n")
	return bw.Flush()
}

// dumpRows writes a table's rows as INSERT statements, each value as
// SQLite's quote() writes it (text escaped, blobs in hex, reals exact).
func dumpRows(ctx context.Context, tx *sql.Tx, w *bufio.Writer, table string) error {
	var cols []string
	rows, err := tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, QuoteIdent(c))
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(cols) == 0 {
		return err
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = "quote(" + c + ")"
	}
	prefix := "INSERT INTO " + QuoteIdent(table) + "(" + strings.Join(cols, ",") + ") VALUES("
	rows, err = tx.QueryContext(ctx, `SELECT `+strings.Join(quoted, ` || ',' || `)+` FROM `+QuoteIdent(table))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var values string
		if err := rows.Scan(&values); err != nil {
			return err
		}
		w.WriteString(prefix)
		w.WriteString(values)
		w.WriteString(");\n")
	}
	return rows.Err()
}

// QuoteIdent quotes an SQL identifier.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// LoadDump makes a new SQLite file at path from an SQL dump (WriteDump's,
// or sqld's /dump), refusing to overwrite a file.
func LoadDump(ctx context.Context, dump string, path string) error {
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
	return db.Close()
}

// TableCounts returns the row count of every table of a database but
// SQLite's own: enough to tell whether a copy arrived whole.
func TableCounts(ctx context.Context, db *sql.DB) (map[string]int64, error) {
	names, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var tables []string
	for names.Next() {
		var n string
		if err := names.Scan(&n); err != nil {
			names.Close()
			return nil, err
		}
		tables = append(tables, n)
	}
	names.Close()
	if err := names.Err(); err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(tables))
	if len(tables) == 0 {
		return counts, nil
	}
	// One statement, so that a remote database costs one round trip.
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = fmt.Sprintf(`SELECT %s, count(*) FROM %s`, quoteText(t), QuoteIdent(t))
	}
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

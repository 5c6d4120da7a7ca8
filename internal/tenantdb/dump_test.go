package tenantdb_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

const bigRows = 1200

// makeFile makes a SQLite file holding what a tenant may: every kind of
// value, an AUTOINCREMENT counter, a generated column, a WITHOUT ROWID
// table, odd names, an index, a view, a trigger and a user_version.
func makeFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "src.db")
	exec(t, path,
		`PRAGMA user_version = 42`,
		`CREATE TABLE items(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, price REAL, data BLOB, n INTEGER, v,
			total REAL GENERATED ALWAYS AS (price * 2) STORED)`,
		`CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID`,
		`CREATE TABLE log(msg TEXT)`,
		`CREATE TABLE "odd ""näme"";"("x""y", z)`,
		`CREATE TABLE empty(a, b)`,
		`CREATE TABLE big(id INTEGER PRIMARY KEY, body TEXT)`,
		`INSERT INTO items(name, price, data, n, v) VALUES
			('it''s; a "quoted"
multi-line;
value', 0.1, x'00ff10', 9007199254740993, '1'),
			(NULL, 1e300, zeroblob(3), -1, 1),
			('gone', 1, NULL, NULL, NULL),
			('', -0.0, x'', 0, 2.5)`,
		`DELETE FROM items WHERE id = 3`,
		`INSERT INTO kv VALUES ('a', 1), ('b', 'two'), ('c', x'01'), ('d', NULL), ('e', 2.5), ('f', 1e-300), ('g', char(9, 10, 13, 39, 59))`,
		`INSERT INTO "odd ""näme"";"("x""y", z) VALUES ('é ✓', ');--')`,
		`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 1200)
			INSERT INTO big SELECT i, printf('row %d; %s', i, hex(randomblob(40))) FROM s`,
		`CREATE INDEX items_name ON items(name)`,
		`CREATE VIEW cheap AS SELECT name FROM items WHERE price < 1`,
		`CREATE TRIGGER items_log AFTER INSERT ON items BEGIN INSERT INTO log VALUES ('inserted ' || new.id); END`,
		`INSERT INTO items(name, price) VALUES ('logged', 3), ('dropped', 4)`,
		`DELETE FROM items WHERE id = 6`, // the counter stays past the last row
	)
	return path
}

func exec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func open(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sameDatabase fails unless the file at got holds what the one at want
// does: schema, user_version, and every row of every table (including
// sqlite_sequence) with each value's type.
func sameDatabase(t *testing.T, want, got string) {
	t.Helper()
	ctx := t.Context()
	w, g := open(t, want), open(t, got)
	wc, err := tenantdb.TableCounts(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := tenantdb.TableCounts(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(wc, gc) {
		t.Fatalf("tables and rows %v, want %v", gc, wc)
	}
	if wc["big"] != bigRows || wc["empty"] != 0 || len(wc) != 6 {
		t.Fatalf("source counts %v", wc)
	}
	for _, q := range []string{
		`SELECT user_version FROM pragma_user_version`,
		`SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name`,
		`SELECT * FROM sqlite_sequence`,
	} {
		if a, b := all(t, w, q), all(t, g, q); !reflect.DeepEqual(a, b) {
			t.Fatalf("%s:\n got %v\nwant %v", q, b, a)
		}
	}
	for table := range wc {
		q := `SELECT * FROM ` + tenantdb.QuoteIdent(table)
		if a, b := all(t, w, q), all(t, g, q); !reflect.DeepEqual(a, b) {
			t.Fatalf("%s:\n got %v\nwant %v", q, b, a)
		}
	}
	// A few values as SQLite writes them, and the type of each.
	for q, v := range map[string]string{
		`SELECT quote(name) || ':' || quote(price) || ':' || quote(data) || ':' || n || ':' || quote(v) || ':' || total FROM items WHERE id = 1`: `'it''s; a "quoted"
multi-line;
value':0.1:X'00FF10':9007199254740993:'1':0.2`,
		`SELECT quote(name) || ':' || quote(price) || ':' || quote(data) || ':' || quote(v) FROM items WHERE id = 2`: `NULL:1.0e+300:X'000000':1`,
		`SELECT typeof(v) FROM items ORDER BY id`:                                   `text,integer,real,null`,
		`SELECT group_concat(k || '=' || quote(v), ',') FROM kv`:                    `a=1,b='two',c=X'01',d=NULL,e=2.5,f=1.0e-300,g='` + "\t\n\r''" + `;'`,
		`SELECT "x""y" || z FROM "odd ""näme"";"`:                                   `é ✓);--`,
		`SELECT group_concat(msg) FROM log`:                                         `inserted 5,inserted 6`,
		`SELECT seq FROM sqlite_sequence WHERE name = 'items'`:                      `6`,
		`SELECT group_concat(name) FROM cheap`:                                      "it's; a \"quoted\"\nmulti-line;\nvalue,",
		`SELECT count(*) FROM pragma_index_list('items') WHERE name = 'items_name'`: `1`,
	} {
		if s := strings.Join(text(t, g, q), ","); s != v {
			t.Errorf("%s\n got %q\nwant %q", q, s, v)
		}
	}
}

// all returns every row of a query, sorted, each value as the driver
// gives it (int64, float64, string, []byte or nil).
func all(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%#v", vals))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func text(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s.String)
	}
	return out
}

// writeDump writes the SQLite file at path as SQL text, as an import
// into sqld hands it over.
func writeDump(ctx context.Context, path string, w io.Writer) error {
	d, err := tenantdb.OpenDump(ctx, path)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Write(ctx, w)
}

func TestWriteDumpLoadsBackIdentical(t *testing.T) {
	src := makeFile(t)
	var dump bytes.Buffer
	if err := writeDump(t.Context(), src, &dump); err != nil {
		t.Fatal(err)
	}
	s := dump.String()
	if !strings.HasPrefix(s, "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nPRAGMA user_version=42;\nCREATE TABLE items(") || !strings.HasSuffix(s, "\nCOMMIT;\n") {
		t.Fatalf("dump framing:\n%.200s\n...\n%s", s, s[max(0, len(s)-100):])
	}
	// sqlite3's .dump shape: one row per INSERT, the counters after the
	// tables, indexes, views and triggers last.
	if n := strings.Count(s, "\nINSERT INTO \"big\"(\"id\",\"body\") VALUES("); n != bigRows {
		t.Errorf("%d INSERTs into big, want one per row (%d)", n, bigRows)
	}
	seq := strings.Index(s, "\nDELETE FROM sqlite_sequence;\nINSERT INTO \"sqlite_sequence\"(\"name\",\"seq\") VALUES('items',6);\n")
	if seq < 0 || seq < strings.LastIndex(s, "INSERT INTO \"big\"") || seq > strings.Index(s, "CREATE INDEX items_name") || seq > strings.Index(s, "CREATE TRIGGER") {
		t.Errorf("sqlite_sequence out of place in the dump")
	}
	if strings.Contains(s, `"total"`) {
		t.Errorf("the generated column was dumped")
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := tenantdb.LoadDump(t.Context(), s, 42, dst); err != nil {
		t.Fatal(err)
	}
	sameDatabase(t, src, dst)
	if err := tenantdb.LoadDump(t.Context(), s, 42, dst); err == nil {
		t.Fatal("LoadDump overwrote a file")
	}
}

func TestReplayLoadsBackIdentical(t *testing.T) {
	ctx := t.Context()
	src := makeFile(t)
	d, err := tenantdb.OpenDump(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.UserVersion != 42 {
		t.Fatalf("user_version %d", d.UserVersion)
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	db, err := sql.Open("sqlite", "file:"+dst)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Replay(ctx, conn); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	sameDatabase(t, src, dst)

	// Into a database that is not empty: the target's error, as such.
	conn, err = db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = d.Replay(ctx, conn)
	var re *tenantdb.ReplayError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("replay into a full database: %v", err)
	}
}

// Statements groups rows into INSERTs by count and by size, and gives
// every row once.
func TestStatementsBatches(t *testing.T) {
	ctx := t.Context()
	src := makeFile(t)
	d, err := tenantdb.OpenDump(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	counts, err := d.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ rows, bytes, want int }{
		{500, 256 << 10, 3},
		{bigRows, 10 << 10, 0}, // by size: each under 10 KiB and a row
		{1, 0, bigRows},
	} {
		var inserts []string
		err := d.Statements(ctx, c.rows, c.bytes, func(stmt string) error {
			if strings.HasPrefix(stmt, `INSERT INTO "big"`) {
				inserts = append(inserts, stmt)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rows := 0
		for _, s := range inserts {
			n := strings.Count(s, "),(") + 1
			if n > c.rows || c.bytes > 0 && len(s) > c.bytes+200 {
				t.Errorf("an INSERT of %d rows and %d bytes, limits %d and %d", n, len(s), c.rows, c.bytes)
			}
			rows += n
		}
		if int64(rows) != counts["big"] || c.want != 0 && len(inserts) != c.want || c.want == 0 && len(inserts) < 5 {
			t.Errorf("limits %d rows, %d bytes: %d rows in %d INSERTs", c.rows, c.bytes, rows, len(inserts))
		}
	}
	// An error from emit stops it.
	stop := errors.New("stop")
	n := 0
	if err := d.Statements(ctx, 500, 1<<20, func(string) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("emit's error: %v after %d statements", err, n)
	}
}

func TestVirtualTableRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fts.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`CREATE TABLE plain(x); CREATE VIRTUAL TABLE docs USING fts5(body)`)
	db.Close()
	if err != nil {
		t.Skipf("no fts5: %v", err)
	}
	var out bytes.Buffer
	err = writeDump(t.Context(), path, &out)
	if fleet.ErrorCode(err) != fleet.EINVALID || !strings.Contains(err.Error(), "virtual table (docs)") {
		t.Fatalf("dump of a virtual table: %v", err)
	}
	if out.Len() != 0 {
		t.Fatalf("a refused dump wrote %q", out.String())
	}
	if _, err := tenantdb.OpenDump(t.Context(), path); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Fatalf("OpenDump of a virtual table: %v", err)
	}
}

// A dump without tables still makes a SQLite file, which can be imported.
func TestLoadEmptyDump(t *testing.T) {
	for _, version := range []int64{0, 3} {
		path := filepath.Join(t.TempDir(), "empty.db")
		if err := tenantdb.LoadDump(t.Context(), "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCOMMIT;\n", version, path); err != nil {
			t.Fatal(err)
		}
		if err := tenantdb.CheckFile(t.Context(), path); err != nil {
			t.Fatalf("version %d: %v", version, err)
		}
		if v := text(t, open(t, path), `SELECT user_version FROM pragma_user_version`); v[0] != fmt.Sprint(version) {
			t.Fatalf("user_version %v, want %d", v, version)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
			t.Fatalf("empty file: %v", err)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// OpenUpload stages what it is given, refuses what is not a SQLite file,
// and leaves nothing behind.
func TestOpenUpload(t *testing.T) {
	ctx := t.Context()
	tmp := t.TempDir()
	src, err := os.ReadFile(makeFile(t))
	if err != nil {
		t.Fatal(err)
	}
	d, err := tenantdb.OpenUpload(ctx, tmp, bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := d.Counts(ctx); err != nil || c["big"] != bigRows || d.UserVersion != 42 {
		t.Fatalf("upload: %v, user_version %d, %v", c, d.UserVersion, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 1 {
		t.Fatalf("staged as %v", left)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		src  io.Reader
		want string
	}{
		{bytes.NewReader(nil), "not a SQLite database"},
		{strings.NewReader("SQLite format 2 and then some"), "not a SQLite database"},
		{io.MultiReader(bytes.NewReader(src[:100]), failingReader{}), "Could not read the file to import: connection reset."},
	} {
		_, err := tenantdb.OpenUpload(ctx, tmp, c.src)
		if fleet.ErrorCode(err) != fleet.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want EINVALID %q", err, c.want)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

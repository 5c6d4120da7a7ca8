package console_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

func TestParams(t *testing.T) {
	for sql, want := range map[string][]string{
		`SELECT * FROM t WHERE a = :a AND b > @b OR c = $c AND d = :a`: {"a", "b", "c"},
		`SELECT ':not', ":nor", [:neither], ` + "`:nope`" + ` FROM t -- :comment
		 WHERE x = :yes /* :block */`: {"yes"},
		`SELECT 'it''s :quoted', :after`: {"after"},
		`SELECT :ünï, :_x1`:              {"ünï", "_x1"},
		`SELECT 1`:                       nil,
		`SELECT :`:                       nil,
		`SELECT 'unterminated :x`:        nil,
	} {
		if got := console.Params(sql); !slices.Equal(got, want) {
			t.Errorf("Params(%q) = %q, want %q", sql, got, want)
		}
	}
}

// tenant makes a SQLite file with an orders table of n rows.
func tenant(t testing.TB, dir, name string, n int) string {
	t.Helper()
	path := filepath.Join(dir, name+".db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE orders(id INTEGER PRIMARY KEY, total_amount INTEGER, note TEXT, paid_at DATE, raw BLOB);
		WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < ?1)
		INSERT INTO orders(total_amount, note, raw) SELECT x*100, 'order ' || x, x'00ff' FROM c WHERE x <= ?1`, n); err != nil {
		t.Fatal(err)
	}
	return path
}

func open(t testing.TB, path string, write bool) *tenantdb.ConsoleConn {
	t.Helper()
	c, err := tenantdb.OpenConsoleFile(context.Background(), path, write)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRunResultsLimitsAndErrors(t *testing.T) {
	c := open(t, tenant(t, t.TempDir(), "a", 30), false)
	ctx := context.Background()
	l := console.Limits{}.WithDefaults()

	res, err := console.Run(ctx, c, console.Request{SQL: `SELECT id, total_amount / 100.0 AS amount, note, NULL AS empty, raw FROM orders WHERE id <= :n ORDER BY id`,
		Params: map[string]string{"n": "3"}}, l)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 3 || res.Truncated {
		t.Fatalf("%d rows, truncated %v; want 3, false", len(res.Rows), res.Truncated)
	}
	var types []string
	for _, c := range res.Columns {
		types = append(types, c.Name+":"+c.Type)
	}
	if got := strings.Join(types, " "); got != "id:INTEGER amount:REAL note:TEXT empty: raw:BLOB" {
		t.Errorf("columns %s", got)
	}
	if res.Rows[2][0] != int64(3) || res.Rows[2][2] != "order 3" || res.Rows[0][3] != nil {
		t.Errorf("row values %v", res.Rows)
	}

	// Several statements: the last one's rows.
	res, err = console.Run(ctx, c, console.Request{SQL: `SELECT 1; SELECT count(*) AS n FROM orders`}, l)
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0] != int64(30) {
		t.Fatalf("several statements: %v, %v", res, err)
	}

	// The row cap.
	res, err = console.Run(ctx, c, console.Request{SQL: `SELECT * FROM orders`}, console.Limits{Timeout: time.Second, MaxRows: 10})
	if err != nil || len(res.Rows) != 10 || !res.Truncated {
		t.Fatalf("capped run: %d rows, truncated %v, %v", len(res.Rows), res.Truncated, err)
	}

	// Errors carry SQLite's message; a missing parameter is named.
	for sql, want := range map[string]string{
		`SELEC 1`:                         `near "SELEC": syntax error`,
		`SELECT * FROM nowhere`:           `no such table: nowhere`,
		`SELECT :who`:                     `Give a value for :who.`,
		`DELETE FROM orders`:              `read-only run`,
		`   `:                             `Write some SQL to run.`,
		`SELECT 1 FROM orders WHERE id=?`: `missing argument`,
	} {
		_, err := console.Run(ctx, c, console.Request{SQL: sql}, l)
		if err == nil || !strings.Contains(fleet.ErrorMessage(err)+err.Error(), want) {
			t.Errorf("%q: error %v, want it to say %q", sql, err, want)
		}
	}

	// The time limit interrupts a query that would never end.
	start := time.Now()
	_, err = console.Run(ctx, c, console.Request{SQL: `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c`},
		console.Limits{Timeout: 200 * time.Millisecond, MaxRows: 10})
	if err == nil || !strings.Contains(fleet.ErrorMessage(err), "time limit") {
		t.Fatalf("endless query: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("endless query stopped after %s", took)
	}
	// The connection is still usable after an interrupt.
	if _, err := console.Run(ctx, c, console.Request{SQL: `SELECT 1`}, l); err != nil {
		t.Fatalf("after an interrupt: %v", err)
	}
}

// sink records a fan-out's output.
type sink struct {
	cols      []string
	rows      []string
	fails     []console.TenantError
	truncated []string
	progress  []int
}

func (s *sink) Columns(cols []console.Column) error {
	for _, c := range cols {
		s.cols = append(s.cols, c.Name)
	}
	return nil
}
func (s *sink) Row(tenant string, vals []any) error {
	s.rows = append(s.rows, fmt.Sprint(append([]any{tenant}, vals...)))
	return nil
}
func (s *sink) Fail(e console.TenantError) error { s.fails = append(s.fails, e); return nil }
func (s *sink) TenantTruncated(tenant string) error {
	s.truncated = append(s.truncated, tenant)
	return nil
}
func (s *sink) Progress(done, failed, total int) { s.progress = append(s.progress, done) }

func TestFanOutMergesInOrderAndRecordsFailures(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for i := range 40 {
		name := fmt.Sprintf("store-%02d", i)
		names = append(names, name)
		switch i {
		case 7: // not a database at all
			if err := writeFile(filepath.Join(dir, name+".db"), "this is not SQLite"); err != nil {
				t.Fatal(err)
			}
		case 11: // a different schema: the query fails there
			db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, name+".db"))
			if _, err := db.Exec(`CREATE TABLE other(x)`); err != nil {
				t.Fatal(err)
			}
			db.Close()
		case 13: // missing file
		default:
			tenant(t, dir, name, i%5)
		}
	}
	s := &sink{}
	f := console.FanOut{
		Tenants: names,
		Open: func(ctx context.Context, name string) (console.Conn, error) {
			return tenantdb.OpenConsoleFile(ctx, filepath.Join(dir, name+".db"), false)
		},
		Request: console.Request{SQL: `SELECT count(*) AS n, max(id) AS last FROM orders`},
		Limits:  console.Limits{}.WithDefaults(),
		Workers: 4,
	}
	failed, err := f.Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 3 || len(s.fails) != 3 {
		t.Fatalf("failed %d: %+v", failed, s.fails)
	}
	for i, want := range []string{"store-07", "store-11", "store-13"} {
		if s.fails[i].Tenant != want || s.fails[i].Error == "" {
			t.Errorf("failure %d: %+v, want %s with a message", i, s.fails[i], want)
		}
	}
	if strings.Join(s.cols, ",") != "tenant,n,last" {
		t.Errorf("columns %v", s.cols)
	}
	if len(s.rows) != 37 || s.rows[0] != "[store-00 0 <nil>]" || s.rows[1] != "[store-01 1 1]" || s.rows[36] != "[store-39 4 4]" {
		t.Errorf("rows %d: first %q, %q, last %q", len(s.rows), s.rows[0], s.rows[1], s.rows[len(s.rows)-1])
	}
	if !slices.IsSorted(s.rows) {
		t.Errorf("rows out of tenant order: %v", s.rows)
	}
	if len(s.progress) != 40 || s.progress[39] != 40 {
		t.Errorf("progress %v", s.progress)
	}

	// The row cap holds for each tenant.
	s = &sink{}
	f.Request = console.Request{SQL: `SELECT id FROM orders`}
	f.Limits = console.Limits{Timeout: time.Second, MaxRows: 2}
	f.Tenants = []string{"store-03", "store-04", "store-05"}
	if _, err := f.Run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if len(s.rows) != 2+2+0 || !slices.Equal(s.truncated, []string{"store-03", "store-04"}) {
		t.Errorf("capped fan-out: rows %v, truncated %v", s.rows, s.truncated)
	}
}

func TestSelect(t *testing.T) {
	names := []string{"acme", "shop-1", "shop-2", "store-1", "store-10"}
	for _, tc := range []struct {
		pattern, list string
		want          []string
		code          string
	}{
		{"", "", names, ""},
		{"shop-*", "", []string{"shop-1", "shop-2"}, ""},
		{"store-?", "", []string{"store-1"}, ""},
		{"", "store-10, acme\nacme", []string{"acme", "store-10"}, ""},
		{"", "acme nosuch", nil, fleet.ENOTFOUND},
		{"", "Bad_Name", nil, fleet.EINVALID},
		{"[", "", nil, fleet.EINVALID},
		{"a*", "acme", nil, fleet.EINVALID},
	} {
		got, err := console.Select(names, tc.pattern, tc.list)
		if fleet.ErrorCode(err) != tc.code && !(tc.code == "" && err == nil) {
			t.Errorf("Select(%q, %q): error %v, want code %q", tc.pattern, tc.list, err, tc.code)
			continue
		}
		if tc.code == "" && !slices.Equal(got, tc.want) {
			t.Errorf("Select(%q, %q) = %v, want %v", tc.pattern, tc.list, got, tc.want)
		}
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

// TestConsoleConnAllowsOnlyReading: a read-only console connection runs
// what reading needs and refuses, when the SQL is prepared, anything that
// changes state, the process's included (issue 15: PRAGMA
// temp_store_directory succeeded read-only and moved every connection's
// temporary files).
func TestConsoleConnAllowsOnlyReading(t *testing.T) {
	dir := t.TempDir()
	c := open(t, tenant(t, dir, "a", 3), false)
	ctx := context.Background()
	l := console.Limits{}.WithDefaults()
	t.Cleanup(func() {
		// Undo what a guard that failed let through.
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "reset.db"))
		if err == nil {
			_, _ = db.Exec(`PRAGMA temp_store_directory = ''`)
			db.Close()
		}
	})
	for _, q := range []string{
		`SELECT count(*) FROM orders`,
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 3) SELECT x FROM c`,
		`SELECT name FROM pragma_table_info('orders')`,
		`SELECT * FROM pragma_index_list('orders')`,
		`SELECT * FROM pragma_table_list`,
		`PRAGMA table_info(orders)`,
		`PRAGMA index_list('orders')`,
		`PRAGMA user_version`,
		`PRAGMA journal_mode`,
		`PRAGMA quick_check`,
		`SELECT upper(note), length(raw), total_changes() FROM orders`,
		`BEGIN; SELECT 1; COMMIT`,
	} {
		if _, err := console.Run(ctx, c, console.Request{SQL: q}, l); err != nil {
			t.Errorf("%q refused on a read-only console connection: %v", q, err)
		}
	}
	for _, q := range []string{
		`PRAGMA temp_store_directory = '` + dir + `'`,
		`PRAGMA data_store_directory = '` + dir + `'`,
		`PRAGMA cache_size = 1`,
		`PRAGMA journal_mode = DELETE`,
		`PRAGMA query_only = 0`,
		`PRAGMA user_version = 9`,
		`PRAGMA wal_checkpoint`,
		`PRAGMA optimize`,
		`PRAGMA shrink_memory`,
		`ATTACH ':memory:' AS m`,
		`DETACH main`,
		`CREATE TEMP TABLE x(a)`,
		`CREATE TEMP VIEW v AS SELECT 1`,
		`ANALYZE`,
		`DELETE FROM orders`,
	} {
		_, err := console.Run(ctx, c, console.Request{SQL: q}, l)
		if err == nil {
			t.Errorf("read-only console connection ran %q", q)
			continue
		}
		if !strings.Contains(fleet.ErrorMessage(err), "Not allowed") && !strings.Contains(fleet.ErrorMessage(err), "readonly") {
			t.Errorf("%q: %q, want it to say it is not allowed", q, fleet.ErrorMessage(err))
		}
	}
	// The process's temporary directory is untouched.
	probe, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "probe.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	var tmp string
	if err := probe.QueryRow(`PRAGMA temp_store_directory`).Scan(&tmp); err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	if tmp != "" {
		t.Fatalf("temp_store_directory is %q after a read-only console run", tmp)
	}

	// Write mode writes data, but still reaches no other file and no
	// process-wide setting.
	w := open(t, tenant(t, dir, "b", 3), true)
	if _, err := console.Run(ctx, w, console.Request{SQL: `UPDATE orders SET note = 'x' WHERE id = 1`}, l); err != nil {
		t.Fatalf("write console connection refused an UPDATE: %v", err)
	}
	for _, q := range []string{`PRAGMA temp_store_directory = '` + dir + `'`, `ATTACH ':memory:' AS m`, `PRAGMA journal_mode = OFF`} {
		if _, err := console.Run(ctx, w, console.Request{SQL: q}, l); err == nil {
			t.Errorf("write console connection ran %q", q)
		}
	}
}

// TestConsoleConnCapsValueLength: a value past the console's length limit
// fails at once with a clear message (issue 15: SELECT
// length(randomblob(400000000)) ran 10 s against a 5 s limit and took
// 400 MB), and so does a result wider than the column cap.
func TestConsoleConnCapsValueLength(t *testing.T) {
	c := open(t, tenant(t, t.TempDir(), "a", 3), false)
	ctx := context.Background()
	l := console.Limits{}.WithDefaults()
	for _, q := range []string{
		`SELECT length(randomblob(400000000))`,
		`SELECT length(zeroblob(400000000))`,
		`SELECT length(printf('%.*c', 400000000, 'x'))`,
	} {
		_, err := console.Run(ctx, c, console.Request{SQL: q}, l)
		if err == nil || !strings.Contains(fleet.ErrorMessage(err), "MiB") {
			t.Errorf("%q: %v, want the value length limit", q, err)
		}
	}
	wide := "SELECT 1" + strings.Repeat(", 1", tenantdb.MaxResultColumns)
	if _, err := console.Run(ctx, c, console.Request{SQL: wide}, l); err == nil || !strings.Contains(fleet.ErrorMessage(err), fmt.Sprintf("console's %d columns", tenantdb.MaxResultColumns)) {
		t.Errorf("a result of %d columns: %v, want the column limit", tenantdb.MaxResultColumns+1, err)
	}
	// Below the limit all is well.
	res, err := console.Run(ctx, c, console.Request{SQL: `SELECT length(randomblob(1000000))`}, l)
	if err != nil || res.Rows[0][0] != int64(1000000) {
		t.Fatalf("a 1 MB value: %v, %v", res, err)
	}
}

// TestResultByteCap: a result stops before the row that would take it
// past MaxBytes, and says so (issue 15: the row cap alone let 1,000 rows
// of megabytes each into memory).
func TestResultByteCap(t *testing.T) {
	c := open(t, tenant(t, t.TempDir(), "a", 3), false)
	// 40 rows of 100 kB against a cap of 5 of them (and a little): the
	// blobs are made slowly under the race detector on a busy machine,
	// so the time limit is far away.
	q := console.Request{SQL: `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 40) SELECT x, randomblob(100000) FROM c`}
	res, err := console.Run(context.Background(), c, q, console.Limits{MaxBytes: 5*100000 + 20000, Timeout: 5 * time.Minute}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 5 || !res.Truncated || !res.CutAtBytes {
		t.Fatalf("%d rows, truncated %v, at bytes %v; want 5 rows cut at the byte cap", len(res.Rows), res.Truncated, res.CutAtBytes)
	}
	if l := (console.Limits{}).WithDefaults(); l.MaxBytes != console.DefaultMaxBytes {
		t.Fatalf("default byte cap %d", l.MaxBytes)
	}
}

// TestCSVNeutralisesFormulas: text cells a spreadsheet would run are
// prefixed with a quote (OWASP's CSV injection advice); numbers, and text
// that is a plain number, stay as they are; Raw writes everything as it is.
func TestCSVNeutralisesFormulas(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://evil","x")`: `'=HYPERLINK("http://evil","x")`,
		`+1+cmd|' /C calc'!A0`:          `'+1+cmd|' /C calc'!A0`,
		`-2+3`:                          `'-2+3`,
		`@SUM(A1:A2)`:                   `'@SUM(A1:A2)`,
		"\t=1":                          "'\t=1",
		"\r=1":                          "'\r=1",
		`-12.5`:                         `-12.5`,
		`+3`:                            `+3`,
		`-1e6`:                          `-1e6`,
		`-Inf`:                          `'-Inf`,
		`-`:                             `'-`,
		`plain text`:                    `plain text`,
		`a=b`:                           `a=b`,
		``:                              ``,
	} {
		if got := console.CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
	var b strings.Builder
	x := &console.Exporter{W: &b, Format: "csv"}
	_ = x.Header([]console.Column{{Name: "=label"}, {Name: "n"}})
	_ = x.Write([]any{"=1+2", int64(-5)})
	_ = x.Write([]any{"-7", -2.5})
	_ = x.Finish(nil)
	if got, want := b.String(), "'=label,n\n'=1+2,-5\n-7,-2.5\n"; got != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}
	b.Reset()
	x = &console.Exporter{W: &b, Format: "csv", Raw: true}
	_ = x.Header([]console.Column{{Name: "f"}})
	_ = x.Write([]any{"=1+2"})
	_ = x.Finish(nil)
	if got := b.String(); got != "f\n=1+2\n" {
		t.Errorf("raw CSV: %q", got)
	}
}

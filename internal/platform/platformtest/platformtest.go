// Package platformtest is the contract every platform.Platform passes:
// create, clone, delete, restore, list, import, export, and the refusals
// (not found, conflict, invalid name) that must touch nothing.
package platformtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
)

// Options adapt the contract to one platform's test set-up.
type Options struct {
	// DataProxy, when set, returns where the data-plane requests made
	// with p's remote credentials go, while their Host header stays the
	// credential URL's (tenantdb.Remote.Proxy): the test's sqld standing
	// in for the public host names an application would dial.
	DataProxy func(p platform.Platform) string
}

// Run runs the contract against platforms made by newPlatform, each test
// with a fresh, empty one. Restore is tested where Caps says it works.
func Run(t *testing.T, newPlatform func(t *testing.T) platform.Platform) {
	RunWith(t, newPlatform, Options{})
}

// RunWith is Run with options.
func RunWith(t *testing.T, newPlatform func(t *testing.T) platform.Platform, o Options) {
	t.Run("CreateListGetOpen", func(t *testing.T) { testCreate(t, newPlatform(t)) })
	t.Run("Conflict", func(t *testing.T) { testConflict(t, newPlatform(t)) })
	t.Run("InvalidNames", func(t *testing.T) { testInvalid(t, newPlatform(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newPlatform(t)) })
	t.Run("CloneIsIndependent", func(t *testing.T) { testClone(t, newPlatform(t)) })
	t.Run("CloneUnderConcurrentWrites", func(t *testing.T) { testCloneConcurrent(t, newPlatform(t)) })
	t.Run("DeleteRestore", func(t *testing.T) { testDelete(t, newPlatform(t)) })
	t.Run("ExportImport", func(t *testing.T) { testExportImport(t, newPlatform(t)) })
	t.Run("ImportRejectsNonSQLite", func(t *testing.T) { testImportBad(t, newPlatform(t)) })
	t.Run("ConsoleGuards", func(t *testing.T) { testConsole(t, newPlatform(t)) })
	t.Run("Credentials", func(t *testing.T) { testCredentials(t, newPlatform(t), o) })
}

// Refused is every kind of statement a read-only console connection must
// refuse; the ones after the first four are refused in write mode too.
var Refused = []string{
	`INSERT INTO t(v) VALUES ('x')`,
	`UPDATE t SET v = 'x'`,
	`DELETE FROM t`,
	`CREATE TABLE u(a)`,
	`DROP TABLE t`,
	`CREATE INDEX t_v ON t(v)`,
	`PRAGMA user_version = 7`,
	`VACUUM`,
	`REPLACE INTO t(id, v) VALUES (1, 'x')`,
	`CREATE TEMP TABLE tmp AS SELECT 1`,
	`SELECT 1; DELETE FROM t`,
}

// Escapes are what no console connection may do in any mode: reach
// another file or load code.
var Escapes = []string{
	`ATTACH DATABASE 'other.db' AS other`,
	`ATTACH ':memory:' AS m`,
	`VACUUM INTO 'copy.db'`,
	`SELECT load_extension('libfoo')`,
}

func testConsole(t *testing.T, p platform.Platform) {
	mustCreate(t, p, "guarded")
	exec(t, p, "guarded", `PRAGMA user_version = 3`)
	conn, err := p.OpenConsole(ctx(t), "guarded", false)
	if err != nil {
		t.Fatal(err)
	}
	query := func(q string) error {
		rows, err := conn.QueryContext(ctx(t), q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	}
	if err := query(`SELECT v FROM t`); err != nil {
		t.Fatalf("read on a read-only console connection: %v", err)
	}
	for _, q := range append(slices.Clone(Refused), Escapes...) {
		if err := query(q); err == nil {
			t.Errorf("read-only console connection ran %q", q)
		}
	}
	conn.Close()
	if n := count(t, p, "guarded", "t"); n != 2 {
		t.Fatalf("table t has %d rows after the refused statements, want 2", n)
	}
	db, err := p.Open(ctx(t), "guarded")
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.QueryRowContext(ctx(t), `PRAGMA user_version`).Scan(&v); err != nil || v != 3 {
		t.Fatalf("user_version %d, %v; want 3", v, err)
	}
	db.Close()

	w, err := p.OpenConsole(ctx(t), "guarded", true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rows, err := w.QueryContext(ctx(t), `INSERT INTO t(v) VALUES ('written')`)
	if err != nil {
		t.Fatalf("write on a write console connection: %v", err)
	}
	rows.Close()
	for _, q := range Escapes {
		if rows, err := w.QueryContext(ctx(t), q); err == nil {
			rows.Close()
			t.Errorf("write console connection ran %q", q)
		}
	}
	if n := count(t, p, "guarded", "t"); n != 3 {
		t.Fatalf("table t has %d rows after one insert, want 3", n)
	}
	_, err = p.OpenConsole(ctx(t), "absent", false)
	wantCode(t, err, fleet.ENOTFOUND)
	_, err = p.OpenConsole(ctx(t), "../escape", true)
	wantCode(t, err, fleet.EINVALID)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if fleet.ErrorCode(err) != code {
		t.Fatalf("got error %v (code %q), want code %q", err, fleet.ErrorCode(err), code)
	}
	if code != fleet.EINTERNAL && fleet.ErrorMessage(err) == "" {
		t.Fatalf("error %v has no message", err)
	}
}

func names(t *testing.T, p platform.Platform) []string {
	t.Helper()
	dbs, err := p.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dbs {
		out = append(out, d.Name)
	}
	return out
}

func exec(t *testing.T, p platform.Platform, name string, stmts ...string) {
	t.Helper()
	db, err := p.Open(ctx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx(t), s); err != nil {
			t.Fatalf("%s on %s: %v", s, name, err)
		}
	}
}

func count(t *testing.T, p platform.Platform, name, table string) int {
	t.Helper()
	db, err := p.Open(ctx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx(t), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatalf("count %s.%s: %v", name, table, err)
	}
	return n
}

func mustCreate(t *testing.T, p platform.Platform, name string) {
	t.Helper()
	if _, err := p.Create(ctx(t), name); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	exec(t, p, name, `CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)`, `INSERT INTO t(v) VALUES ('a'), ('b')`)
}

func testCreate(t *testing.T, p platform.Platform) {
	if got := names(t, p); len(got) != 0 {
		t.Fatalf("fresh platform lists %v", got)
	}
	d, err := p.Create(ctx(t), "store-1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "store-1" || d.URL == "" {
		t.Fatalf("create returned %+v", d)
	}
	exec(t, p, "store-1", `CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)`, `INSERT INTO t(v) VALUES ('x')`)
	if n := count(t, p, "store-1", "t"); n != 1 {
		t.Fatalf("count = %d", n)
	}
	mustCreate(t, p, "store-2")
	if got := strings.Join(names(t, p), ","); got != "store-1,store-2" && got != "store-2,store-1" {
		t.Fatalf("list = %s", got)
	}
	g, err := p.Get(ctx(t), "store-1")
	if err != nil || g.Name != "store-1" {
		t.Fatalf("get = %+v, %v", g, err)
	}
}

func testConflict(t *testing.T, p platform.Platform) {
	mustCreate(t, p, "taken")
	_, err := p.Create(ctx(t), "taken")
	wantCode(t, err, fleet.ECONFLICT)
	if n := count(t, p, "taken", "t"); n != 2 {
		t.Fatalf("conflicting create changed the database: %d rows", n)
	}
	mustCreate(t, p, "other")
	_, err = p.Clone(ctx(t), "other", "taken", time.Time{})
	wantCode(t, err, fleet.ECONFLICT)
	_, err = p.Import(ctx(t), "taken", bytes.NewReader(nil))
	if code := fleet.ErrorCode(err); code != fleet.ECONFLICT && code != fleet.EINVALID {
		t.Fatalf("import over an existing tenant: %v", err)
	}
	if n := count(t, p, "taken", "t"); n != 2 {
		t.Fatalf("refused clone/import changed the database: %d rows", n)
	}
}

// InvalidNames are names every platform refuses before touching anything.
var InvalidNames = []string{"", "Store", "UPPER", "../x", "a/b", "a\\b", "-lead", "trail-", "a.b", "a b",
	"café", "store_1", strings.Repeat("a", 64), "..", ".", "a\x00b"}

func testInvalid(t *testing.T, p platform.Platform) {
	mustCreate(t, p, "good")
	for _, n := range InvalidNames {
		_, err := p.Create(ctx(t), n)
		wantCode(t, err, fleet.EINVALID)
		_, err = p.Clone(ctx(t), "good", n, time.Time{})
		wantCode(t, err, fleet.EINVALID)
		_, err = p.Clone(ctx(t), n, "fresh", time.Time{})
		wantCode(t, err, fleet.EINVALID)
		wantCode(t, p.Delete(ctx(t), n), fleet.EINVALID)
		_, err = p.Import(ctx(t), n, bytes.NewReader(nil))
		wantCode(t, err, fleet.EINVALID)
		wantCode(t, p.Export(ctx(t), n, &bytes.Buffer{}), fleet.EINVALID)
		_, err = p.Get(ctx(t), n)
		wantCode(t, err, fleet.EINVALID)
	}
	if got := strings.Join(names(t, p), ","); got != "good" {
		t.Fatalf("after invalid names the platform lists %s", got)
	}
}

func testNotFound(t *testing.T, p platform.Platform) {
	_, err := p.Get(ctx(t), "nope")
	wantCode(t, err, fleet.ENOTFOUND)
	_, err = p.Clone(ctx(t), "nope", "copy", time.Time{})
	wantCode(t, err, fleet.ENOTFOUND)
	wantCode(t, p.Delete(ctx(t), "nope"), fleet.ENOTFOUND)
	wantCode(t, p.Export(ctx(t), "nope", &bytes.Buffer{}), fleet.ENOTFOUND)
	// Opening a database that was never made fails, now or at its first
	// statement, and makes nothing: a rollout or collection racing a
	// delete must not bring an empty tenant into being.
	if db, err := p.Open(ctx(t), "nope"); err == nil {
		if _, err := db.ExecContext(ctx(t), `CREATE TABLE t (x)`); err == nil {
			t.Fatal("Open made a database that did not exist")
		}
		db.Close()
	}
	if got := names(t, p); len(got) != 0 {
		t.Fatalf("not-found calls left %v", got)
	}
}

func testClone(t *testing.T, p platform.Platform) {
	mustCreate(t, p, "src")
	if _, err := p.Clone(ctx(t), "src", "dst", time.Time{}); err != nil {
		t.Fatal(err)
	}
	exec(t, p, "src", `INSERT INTO t(v) VALUES ('only in src')`)
	exec(t, p, "dst", `DELETE FROM t`)
	if a, b := count(t, p, "src", "t"), count(t, p, "dst", "t"); a != 3 || b != 0 {
		t.Fatalf("src %d rows, dst %d rows: branches are not independent", a, b)
	}
}

// testCloneConcurrent branches a database while a writer commits
// transactions that each insert a pair of rows: a consistent snapshot holds
// an even number of rows and passes an integrity check.
func testCloneConcurrent(t *testing.T, p platform.Platform) {
	mustCreate(t, p, "busy")
	exec(t, p, "busy", `DELETE FROM t`, `CREATE TABLE big(id INTEGER PRIMARY KEY, pad BLOB)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000) INSERT INTO big(pad) SELECT randomblob(1000) FROM n`)
	db, err := p.Open(ctx(t), "busy")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if err := pair(db); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			writes.Add(1)
		}
	}()
	for writes.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	for i := range 3 {
		name := "snap-" + string(rune('a'+i))
		if _, err := p.Clone(ctx(t), "busy", name, time.Time{}); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatal(err)
		}
		n := count(t, p, name, "t")
		if n%2 != 0 {
			t.Errorf("%s: %d rows, a torn copy", name, n)
		}
		cdb, _ := p.Open(ctx(t), name)
		var res string
		if err := cdb.QueryRowContext(ctx(t), `PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
			t.Errorf("%s integrity: %s %v", name, res, err)
		}
		cdb.Close()
	}
	stop.Store(true)
	wg.Wait()
	if writes.Load() < 10 {
		t.Fatalf("writer made only %d commits; the test proved nothing", writes.Load())
	}
}

func pair(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for range 2 {
		if _, err := tx.Exec(`INSERT INTO t(v) VALUES ('p')`); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func testDelete(t *testing.T, p platform.Platform) {
	mustCreate(t, p, "doomed")
	mustCreate(t, p, "keep")
	if err := p.Delete(ctx(t), "doomed"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(t, p), ","); got != "keep" {
		t.Fatalf("after delete the platform lists %s", got)
	}
	_, err := p.Get(ctx(t), "doomed")
	wantCode(t, err, fleet.ENOTFOUND)
	if !p.Caps().Restore {
		return
	}
	if _, err := p.Restore(ctx(t), "doomed"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, p, "doomed", "t"); n != 2 {
		t.Fatalf("restored database has %d rows, want 2", n)
	}
	_, err = p.Restore(ctx(t), "doomed")
	if c := fleet.ErrorCode(err); c != fleet.ECONFLICT && c != fleet.ENOTFOUND {
		t.Fatalf("restore over a live tenant: %v", err)
	}
	_, err = p.Restore(ctx(t), "never-was")
	wantCode(t, err, fleet.ENOTFOUND)
	// A new tenant with a deleted one's name, deleted again, restores the newest.
	if err := p.Delete(ctx(t), "doomed"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, p, "doomed")
	exec(t, p, "doomed", `INSERT INTO t(v) VALUES ('third')`)
	if err := p.Delete(ctx(t), "doomed"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Restore(ctx(t), "doomed"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, p, "doomed", "t"); n != 3 {
		t.Fatalf("restore brought back %d rows, want the newest copy's 3", n)
	}
}

func testExportImport(t *testing.T, p platform.Platform) {
	mustCreate(t, p, "orig")
	var buf bytes.Buffer
	if err := p.Export(ctx(t), "orig", &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("SQLite format 3\x00")) {
		t.Fatalf("export is not a SQLite file (%d bytes)", buf.Len())
	}
	if _, err := p.Import(ctx(t), "copy", bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if n := count(t, p, "copy", "t"); n != 2 {
		t.Fatalf("imported copy has %d rows", n)
	}
}

func testImportBad(t *testing.T, p platform.Platform) {
	for _, content := range [][]byte{nil, []byte("hello, not a database"), append([]byte("SQLite format 3\x00"), make([]byte, 50)...)} {
		_, err := p.Import(ctx(t), "bad", bytes.NewReader(content))
		wantCode(t, err, fleet.EINVALID)
		_, err = p.Get(ctx(t), "bad")
		if !errors.Is(err, err) || fleet.ErrorCode(err) != fleet.ENOTFOUND {
			t.Fatalf("a refused import left a tenant: %v", err)
		}
	}
}

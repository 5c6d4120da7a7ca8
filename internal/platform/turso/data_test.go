package turso_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/platform/turso"
	"github.com/tenantry/tenantry/internal/platform/turso/tursotest"
)

// clock is a settable clock for token renewal.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestTokensCachedSharedAndRenewed(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	clk := &clock{now: time.Now()}
	p, s := start(t, sq, tursotest.Options{}, func(o *turso.Options) {
		o.TokenTTL = time.Hour
		o.Now = clk.Now
	})
	mustCreate(t, p, "a", `CREATE TABLE t(x)`)
	mustCreate(t, p, "b", `CREATE TABLE t(x)`)
	group := "group/" + s.Group
	if n := s.TokensMintedFor(group); n != 1 {
		t.Fatalf("%d group tokens after two creates, want 1", n)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := []string{"a", "b"}[i%2]
			db, err := p.Open(context.Background(), name)
			if err != nil {
				t.Error(err)
				return
			}
			defer db.Close()
			if _, err := db.ExecContext(context.Background(), `INSERT INTO t VALUES (1)`); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := s.TokensMinted(); n != 1 {
		t.Fatalf("%d tokens minted for 20 opens, want 1", n)
	}
	for _, r := range s.Requests() {
		if strings.HasSuffix(r.Path, "/auth/tokens") && !strings.Contains(r.Query, "expiration=60m") {
			t.Fatalf("token asked for with %q, want expiration=60m", r.Query)
		}
	}

	// Half its life on, the token is still used; past three quarters, renewed.
	clk.add(30 * time.Minute)
	exec(t, p, "a", `INSERT INTO t VALUES (2)`)
	if n := s.TokensMintedFor(group); n != 1 {
		t.Fatalf("renewed after half its life: %d mints", n)
	}
	clk.add(20 * time.Minute)
	exec(t, p, "a", `INSERT INTO t VALUES (3)`)
	exec(t, p, "b", `INSERT INTO t VALUES (3)`)
	if n := s.TokensMintedFor(group); n != 2 {
		t.Fatalf("%d mints after 50 minutes of a 60-minute token, want 2", n)
	}

	// Console tokens are per database and access, cached too.
	for range 3 {
		c, err := p.OpenConsole(ctx(t), "a", false)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if n := s.TokensMintedFor("database/a"); n != 1 {
		t.Fatalf("%d read-only tokens for 3 consoles, want 1", n)
	}
}

func TestCreateWaitsForDataPlane(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	const delay = 250 * time.Millisecond
	p, s := start(t, sq, tursotest.Options{ReadyDelay: delay}, nil)
	began := time.Now()
	if _, err := p.Create(ctx(t), "slow"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < delay {
		t.Fatalf("create returned after %v, before the data plane was there (%v)", took, delay)
	}
	if !s.Ready("slow") {
		t.Fatal("create returned before the double made the namespace")
	}
	exec(t, p, "slow", `CREATE TABLE t(x)`) // answers at once

	// A branch waits too, and holds the source as it was when asked for.
	exec(t, p, "slow", `INSERT INTO t VALUES ('before')`)
	if _, err := p.Clone(ctx(t), "slow", "slow-branch", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if v := values(t, p, "slow-branch", `SELECT x FROM t`); strings.Join(v, ",") != "before" {
		t.Fatalf("branch holds %v", v)
	}

	// Past ReadyTimeout, create fails and leaves the database for Discard.
	q, s2 := start(t, sq, tursotest.Options{ReadyDelay: 3 * time.Second}, func(o *turso.Options) {
		o.ReadyTimeout = 300 * time.Millisecond
	})
	_, err := q.Create(ctx(t), "never-ready")
	wantCode(t, err, fleet.EUNAVAILABLE)
	if !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unclear error: %v", err)
	}
	if !s2.Has("never-ready") {
		t.Fatal("the database that did not get ready was removed; Discard's job")
	}
	if err := q.Discard(ctx(t), "never-ready"); err != nil || s2.Has("never-ready") {
		t.Fatalf("discard: %v", err)
	}
}

func TestUsage(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	p, _ := start(t, sq, tursotest.Options{}, nil)
	mustCreate(t, p, "busy", `CREATE TABLE t(x)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100) INSERT INTO t SELECT i FROM n`)
	if v := values(t, p, "busy", `SELECT count(*) FROM t`); v[0] != "100" {
		t.Fatal(v)
	}
	u, err := p.Usage(ctx(t), "busy")
	if err != nil {
		t.Fatal(err)
	}
	if u.RowsWritten < 100 || u.RowsRead < 100 {
		t.Fatalf("usage %+v", u)
	}
	if d := u.To.Sub(u.From); d < 29*24*time.Hour || d > 31*24*time.Hour || time.Since(u.To) > time.Minute {
		t.Fatalf("period %v to %v", u.From, u.To)
	}
	if len(u.TopQueries) == 0 {
		t.Fatal("no top queries")
	}
	for i := 1; i < len(u.TopQueries); i++ {
		a, b := u.TopQueries[i-1], u.TopQueries[i]
		if a.RowsRead+a.RowsWritten < b.RowsRead+b.RowsWritten {
			t.Fatalf("top queries not heaviest first: %+v", u.TopQueries)
		}
	}
	_, err = p.Usage(ctx(t), "absent")
	wantCode(t, err, fleet.ENOTFOUND)
}

func TestReadOnlyConsoleRefusesWrites(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	p, _ := start(t, sq, tursotest.Options{}, nil)
	mustCreate(t, p, "store", `CREATE TABLE t(x)`, `INSERT INTO t VALUES (1)`)
	c, err := p.OpenConsole(ctx(t), "store", false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if rows, err := c.QueryContext(ctx(t), `INSERT INTO t VALUES (2)`); err == nil {
		rows.Close()
		t.Fatal("a read-only console wrote")
	} else if !strings.Contains(err.Error(), "403") {
		t.Fatalf("refused with %v, want sqld's 403", err)
	}
	// The refused connection is replaced: the console goes on reading.
	rows, err := c.QueryContext(ctx(t), `SELECT count(*) FROM t`)
	if err != nil {
		t.Fatalf("read after a refusal: %v", err)
	}
	rows.Close()
	w, err := p.OpenConsole(ctx(t), "store", true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if rows, err := w.QueryContext(ctx(t), `INSERT INTO t VALUES (2)`); err != nil {
		t.Fatalf("write console: %v", err)
	} else {
		rows.Close()
	}
	if v := values(t, p, "store", `SELECT count(*) FROM t`); v[0] != "2" {
		t.Fatalf("rows %v", v)
	}
}

// The API token travels in a header only: never in a URL, and never in
// an error, even when a server echoes it.
func TestAPITokenNeverInURLsOrErrors(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	p, s := start(t, sq, tursotest.Options{}, func(o *turso.Options) { o.MaxAttempts = 2 })
	mustCreate(t, p, "x", `CREATE TABLE t(v)`)
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	_, err := p.List(ctx(t))
	note(err)
	_, err = p.Usage(ctx(t), "x")
	note(err)
	note(p.Export(ctx(t), "x", &bytes.Buffer{}))
	_, err = p.Create(ctx(t), "x")
	note(err)
	_, err = p.Get(ctx(t), "nope")
	note(err)
	s.Fail(tursotest.Fault{Path: "/databases/x", Status: 400, Message: "bad token " + s.Token})
	_, err = p.Get(ctx(t), "x")
	note(err)
	s.Fail(tursotest.Fault{Path: "/databases/x", Status: 503, Times: 2, Message: "upstream said " + s.Token})
	_, err = p.Get(ctx(t), "x")
	note(err)
	if len(errs) != 4 {
		t.Fatalf("errors %v, want 4", errs)
	}
	for _, err := range errs {
		if strings.Contains(err.Error(), s.Token) || strings.Contains(fleet.ErrorMessage(err), s.Token) {
			t.Fatalf("the API token is in an error: %v", err)
		}
	}
	for _, r := range s.Requests() {
		if strings.Contains(r.Path+"?"+r.Query, s.Token) {
			t.Fatalf("the API token is in a URL: %s", r.Path)
		}
		if !r.Authorized {
			t.Fatalf("a request without the API token: %s %s", r.Method, r.Path)
		}
	}

	bad, err := turso.New(turso.Options{Org: s.Org, Token: "wrong-" + s.Token, APIURL: s.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.List(ctx(t))
	wantCode(t, err, fleet.EUNAVAILABLE)
	if !strings.Contains(err.Error(), "API token") || strings.Contains(err.Error(), s.Token) {
		t.Fatalf("unauthorized: %v", err)
	}
	other, _ := turso.New(turso.Options{Org: "not-" + s.Org, Token: s.Token, APIURL: s.URL, MaxAttempts: 1})
	_, err = other.List(ctx(t))
	if !strings.Contains(err.Error(), "organization") {
		t.Fatalf("unknown organization: %v", err)
	}
}

// Import replays a file with what a tenant may hold, and export gives it
// back: every kind of value, AUTOINCREMENT counters, generated columns,
// indexes, views, triggers and the user_version.
func TestImportExportFidelity(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	p, _ := start(t, sq, tursotest.Options{}, nil)
	path := filepath.Join(t.TempDir(), "src.db")
	src, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`PRAGMA user_version = 42`,
		`CREATE TABLE items(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, price REAL, data BLOB, n INTEGER, created DATETIME,
			total REAL GENERATED ALWAYS AS (price * 2) STORED)`,
		`CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID`,
		`CREATE TABLE log(msg TEXT)`,
		`CREATE TABLE "odd näme"(x)`,
		`INSERT INTO items(name, price, data, n, created) VALUES ('it''s; a
multi-line', 0.1, x'00ff10', 9007199254740993, '2026-01-02 03:04:05'), (NULL, 1e308, zeroblob(3), -1, '2026-01-02T03:04:05Z')`,
		`DELETE FROM items WHERE id = 2`,
		`INSERT INTO kv VALUES ('a', 1), ('b', 'two'), ('c', x'01'), ('d', NULL), ('e', 2.5)`,
		`INSERT INTO "odd näme"(x) VALUES ('é ✓')`,
		`CREATE INDEX items_name ON items(name)`,
		`CREATE VIEW cheap AS SELECT name FROM items WHERE price < 1`,
		`CREATE TRIGGER items_log AFTER INSERT ON items BEGIN INSERT INTO log VALUES ('inserted ' || new.id); END`,
	} {
		if _, err := src.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	// Enough rows for several INSERT statements.
	if _, err := src.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 3000)
		INSERT INTO log SELECT printf('row %d %s', i, hex(randomblob(100))) FROM n`); err != nil {
		t.Fatal(err)
	}
	src.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Import(ctx(t), "copy", bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	exec(t, p, "copy", `INSERT INTO items(name, price) VALUES ('next', 5)`)
	want := map[string]string{
		`SELECT id || ':' || quote(name) || ':' || quote(price) || ':' || quote(data) || ':' || n || ':' || created || ':' || total FROM items WHERE id = 1`: `1:'it''s; a
multi-line':0.1:X'00FF10':9007199254740993:2026-01-02 03:04:05:0.2`,
		`SELECT group_concat(k || '=' || quote(v), ',') FROM kv`: `a=1,b='two',c=X'01',d=NULL,e=2.5`,
		`SELECT x FROM "odd näme"`:                               `é ✓`,
		`SELECT count(*) FROM log`:                               `3001`, // 3000 and the trigger's
		`SELECT user_version FROM pragma_user_version`:           `42`,
		`SELECT group_concat(name, ',') FROM cheap`: `it's; a
multi-line`,
		`SELECT group_concat(type || ' ' || name, ',') FROM (SELECT * FROM sqlite_schema WHERE type != 'table' ORDER BY name)`: `view cheap,trigger items_log,index items_name`,
	}
	for q, w := range want {
		if got := strings.Join(values(t, p, "copy", q), ""); got != w {
			t.Errorf("%s\n got %q\nwant %q", q, got, w)
		}
	}
	if v := values(t, p, "copy", `SELECT id FROM items WHERE name = 'next'`); v[0] != "3" {
		t.Errorf("AUTOINCREMENT continued at %v, want 3", v)
	}

	var out bytes.Buffer
	if err := p.Export(ctx(t), "copy", &out); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(t.TempDir(), "back.db")
	if err := os.WriteFile(back, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+back+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version, logs int
	var kv string
	if err := db.QueryRow(`SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM log), (SELECT group_concat(k || '=' || quote(v), ',') FROM kv)`).Scan(&version, &logs, &kv); err != nil {
		t.Fatal(err)
	}
	if version != 42 || logs != 3001 || kv != `a=1,b='two',c=X'01',d=NULL,e=2.5` {
		t.Fatalf("export: version %d, %d log rows, kv %s", version, logs, kv)
	}
}

func TestImportRefusesVirtualTables(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	p, s := start(t, sq, tursotest.Options{}, nil)
	path := filepath.Join(t.TempDir(), "fts.db")
	src, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Exec(`CREATE VIRTUAL TABLE docs USING fts5(body)`); err != nil {
		t.Skipf("no fts5: %v", err)
	}
	src.Close()
	b, _ := os.ReadFile(path)
	_, err = p.Import(ctx(t), "fts", bytes.NewReader(b))
	wantCode(t, err, fleet.EINVALID)
	if s.Has("fts") {
		t.Fatal("a refused import made a database")
	}
}

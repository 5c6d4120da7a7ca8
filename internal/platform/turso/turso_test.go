package turso_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/platformtest"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/platform/turso"
	"github.com/tenantry/tenantry/internal/platform/turso/tursotest"
)

// start makes a double on sq and a platform talking to it, with short
// waits between retries and readiness probes.
func start(t *testing.T, sq *sqldtest.Server, do tursotest.Options, edit func(*turso.Options)) (*turso.Platform, *tursotest.Server) {
	t.Helper()
	s := tursotest.New(t, sq, do)
	o := turso.Options{
		Org: s.Org, Token: s.Token, Group: s.Group, APIURL: s.URL,
		DataProxy: sq.URL,
		RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond,
		ReadyPoll: 10 * time.Millisecond,
		TempDir:   t.TempDir(),
	}
	if edit != nil {
		edit(&o)
	}
	p, err := turso.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if fleet.ErrorCode(err) != code {
		t.Fatalf("got %v (code %q), want code %q", err, fleet.ErrorCode(err), code)
	}
}

func mustCreate(t *testing.T, p *turso.Platform, name string, stmts ...string) {
	t.Helper()
	if _, err := p.Create(ctx(t), name); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	exec(t, p, name, stmts...)
}

func exec(t *testing.T, p *turso.Platform, name string, stmts ...string) {
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

func values(t *testing.T, p *turso.Platform, name, query string) []string {
	t.Helper()
	db, err := p.Open(ctx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx(t), query)
	if err != nil {
		t.Fatalf("%s on %s: %v", query, name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestContract(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	platformtest.RunWith(t, func(t *testing.T) platform.Platform {
		p, _ := start(t, sq, tursotest.Options{}, nil)
		return p
	}, platformtest.Options{DataProxy: func(platform.Platform) string { return sq.URL }})
}

func TestListPagesAndSkips(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	// The double serves at most 4 a page whatever the client asks.
	p, s := start(t, sq, tursotest.Options{MaxPageSize: 4}, nil)
	var want []string
	for i := range 11 {
		name := fmt.Sprintf("store-%02d", i)
		mustCreate(t, p, name)
		want = append(want, name)
	}
	s.AddSchemaDatabase("parent-schema")
	s.Archive("store-03")
	want = append(want[:3], want[4:]...)
	before := len(s.Requests())
	dbs, err := p.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range dbs {
		got = append(got, d.Name)
		if d.ID == "" || d.URL != "libsql://"+s.Hostname(d.Name) {
			t.Errorf("listed %+v", d)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listed %v, want %v", got, want)
	}
	// 12 databases in the group (the archived one included), 4 a page.
	reqs := s.Requests()[before:]
	if len(reqs) != 3 {
		t.Fatalf("%d list requests, want 3 pages", len(reqs))
	}
	for i, r := range reqs {
		if !strings.Contains(r.Query, "group=default") || !strings.Contains(r.Query, "limit=") || (i > 0) != strings.Contains(r.Query, "cursor=") {
			t.Fatalf("list request %d: %s", i, r.Query)
		}
	}
}

func TestDuplicateNameBothForms(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	for _, as400 := range []bool{false, true} {
		p, s := start(t, sq, tursotest.Options{DuplicateAs400: as400}, nil)
		mustCreate(t, p, "taken")
		_, err := p.Create(ctx(t), "taken")
		wantCode(t, err, fleet.ECONFLICT)
		want := 409
		if as400 {
			want = 400
		}
		if r := s.Requests(); r[len(r)-1].Status != want {
			t.Fatalf("the double answered %d, want %d", r[len(r)-1].Status, want)
		}
	}
}

// sleeps records the waits between attempts instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.d
	s.d = nil
	return d
}

func TestRetries(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	var sl sleeps
	p, s := start(t, sq, tursotest.Options{}, func(o *turso.Options) {
		o.Sleep = sl.sleep
		o.RetryBase, o.RetryMax = 100*time.Millisecond, time.Second
	})
	mustCreate(t, p, "one")
	sl.take()

	t.Run("429 with Retry-After in seconds", func(t *testing.T) {
		s.Fail(tursotest.Fault{Method: "GET", Path: "/databases", Status: 429, RetryAfter: "2", Times: 2})
		before := s.Count("GET", "/databases")
		if _, err := p.List(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if n := s.Count("GET", "/databases") - before; n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
		if got := sl.take(); len(got) != 2 || got[0] != 2*time.Second || got[1] != 2*time.Second {
			t.Fatalf("waited %v, want the Retry-After's 2s twice", got)
		}
	})
	t.Run("503 with Retry-After as a date", func(t *testing.T) {
		s.Fail(tursotest.Fault{Method: "GET", Path: "/databases/one", Status: 503,
			RetryAfter: time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)})
		if _, err := p.Get(ctx(t), "one"); err != nil {
			t.Fatal(err)
		}
		if got := sl.take(); len(got) != 1 || got[0] < 25*time.Second || got[0] > 31*time.Second {
			t.Fatalf("waited %v, want about 30s", got)
		}
	})
	t.Run("503 with exponential backoff and jitter", func(t *testing.T) {
		s.Fail(tursotest.Fault{Method: "GET", Path: "/databases/one", Status: 503, Times: 4})
		if _, err := p.Get(ctx(t), "one"); err != nil {
			t.Fatal(err)
		}
		got := sl.take()
		if len(got) != 4 {
			t.Fatalf("waited %v, want 4 waits", got)
		}
		for i, d := range got {
			if ceil := 100 * time.Millisecond << i; d <= 0 || d > ceil {
				t.Fatalf("wait %d was %v, want in (0, %v]", i, d, ceil)
			}
		}
	})
	t.Run("gives up after the bound", func(t *testing.T) {
		s.Fail(tursotest.Fault{Method: "GET", Path: "/databases/one", Status: 503, Times: 5})
		before := s.Count("GET", "/databases/one")
		_, err := p.Get(ctx(t), "one")
		wantCode(t, err, fleet.EUNAVAILABLE)
		if msg := err.Error(); !strings.Contains(msg, "Turso") || !strings.Contains(msg, "5 attempts") || !strings.Contains(msg, "503") {
			t.Fatalf("unclear error: %s", msg)
		}
		if n := s.Count("GET", "/databases/one") - before; n != 5 {
			t.Fatalf("%d attempts, want 5", n)
		}
		sl.take()
	})
	t.Run("a Retry-After too long is not waited for", func(t *testing.T) {
		s.Fail(tursotest.Fault{Method: "GET", Path: "/databases/one", Status: 429, RetryAfter: "3600"})
		_, err := p.Get(ctx(t), "one")
		wantCode(t, err, fleet.EUNAVAILABLE)
		if !strings.Contains(err.Error(), "1h0m0s") {
			t.Fatalf("unclear error: %v", err)
		}
		if got := sl.take(); len(got) != 0 {
			t.Fatalf("waited %v", got)
		}
	})
	t.Run("context cancellation stops the retries", func(t *testing.T) {
		s.Fail(tursotest.Fault{Method: "GET", Path: "/databases/one", Status: 503, Times: 3})
		c, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := p.Get(c, "one")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

// A create whose first attempt made the database and then failed (a 502
// from a gateway) finds it "already exists" on retry: it is ours when it
// is what was asked for, and not when it holds data.
func TestCreateRetryAfterAmbiguousFailure(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	p, s := start(t, sq, tursotest.Options{}, nil)

	s.Fail(tursotest.Fault{Method: "POST", Path: "/databases", Exact: true, Status: 502, After: true})
	if _, err := p.Create(ctx(t), "made-twice"); err != nil {
		t.Fatalf("create after an ambiguous failure: %v", err)
	}
	exec(t, p, "made-twice", `CREATE TABLE t(x)`)

	mustCreate(t, p, "src", `CREATE TABLE t(x)`, `INSERT INTO t VALUES (1)`)
	s.Fail(tursotest.Fault{Method: "POST", Path: "/databases", Exact: true, Status: 504, After: true})
	if _, err := p.Clone(ctx(t), "src", "branch", time.Time{}); err != nil {
		t.Fatalf("clone after an ambiguous failure: %v", err)
	}
	if v := values(t, p, "branch", `SELECT x FROM t`); len(v) != 1 {
		t.Fatalf("branch rows %v", v)
	}

	// The name was taken before: the 502 did nothing, the retry says
	// "already exists", and the database found holds data: not ours.
	s.Fail(tursotest.Fault{Method: "POST", Path: "/databases", Exact: true, Status: 502})
	_, err := p.Create(ctx(t), "made-twice")
	wantCode(t, err, fleet.ECONFLICT)
	if !strings.Contains(err.Error(), "leftover") {
		t.Fatalf("unclear conflict: %v", err)
	}
	if v := values(t, p, "made-twice", `SELECT name FROM sqlite_schema`); len(v) != 1 {
		t.Fatalf("the existing database changed: %v", v)
	}

	// A delete that worked but answered 502 finds nothing on retry: done.
	s.Fail(tursotest.Fault{Method: "DELETE", Path: "/databases/made-twice", Status: 502, After: true})
	if err := p.Delete(ctx(t), "made-twice"); err != nil {
		t.Fatalf("delete after an ambiguous failure: %v", err)
	}
	if s.Has("made-twice") {
		t.Fatal("not deleted")
	}
}

func TestDeleteProtection(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	p, s := start(t, sq, tursotest.Options{}, nil)
	mustCreate(t, p, "guarded")
	s.SetDeleteProtection("guarded", true)
	err := p.Delete(ctx(t), "guarded")
	wantCode(t, err, fleet.EFORBIDDEN)
	if msg := fleet.ErrorMessage(err); !strings.Contains(msg, "delete-protected") || !strings.Contains(msg, "delete protection off") {
		t.Fatalf("unclear message: %s", msg)
	}
	if !s.Has("guarded") {
		t.Fatal("a protected database was deleted")
	}
	s.SetDeleteProtection("guarded", false)
	if err := p.Delete(ctx(t), "guarded"); err != nil {
		t.Fatal(err)
	}
	if s.Has("guarded") {
		t.Fatal("not deleted")
	}
	if err := p.Discard(ctx(t), "guarded"); err != nil {
		t.Fatalf("discard of a deleted database: %v", err)
	}
	// A name that spells a phrase of Turso's errors is not taken for one.
	wantCode(t, p.Delete(ctx(t), "delete-protected"), fleet.ENOTFOUND)
}

func TestPointInTimeBranch(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	p, s := start(t, sq, tursotest.Options{}, nil)
	if !p.Caps().PointInTime || p.Caps().Restore {
		t.Fatalf("caps %+v", p.Caps())
	}
	mustCreate(t, p, "shop", `CREATE TABLE orders(id INTEGER PRIMARY KEY, v TEXT)`, `INSERT INTO orders(v) VALUES ('old')`)
	early := time.Now().Add(-time.Hour)
	snap := s.Snapshot(t, "shop")
	exec(t, p, "shop", `INSERT INTO orders(v) VALUES ('new')`, `UPDATE orders SET v = 'changed' WHERE v = 'old'`)
	at := snap.Add(time.Millisecond)
	if _, err := p.Clone(ctx(t), "shop", "shop-then", at); err != nil {
		t.Fatal(err)
	}
	if v := values(t, p, "shop-then", `SELECT v FROM orders ORDER BY id`); strings.Join(v, ",") != "old" {
		t.Fatalf("point-in-time branch holds %v, want [old]", v)
	}
	if v := values(t, p, "shop", `SELECT v FROM orders ORDER BY id`); strings.Join(v, ",") != "changed,new" {
		t.Fatalf("source holds %v", v)
	}
	_, err := p.Clone(ctx(t), "shop", "shop-before", early)
	wantCode(t, err, fleet.EINVALID)
	if !strings.Contains(err.Error(), "retention") || !strings.Contains(err.Error(), "Turso") {
		t.Fatalf("unclear error: %v", err)
	}
	_, err = p.Clone(ctx(t), "shop", "shop-later", time.Now().Add(time.Hour))
	wantCode(t, err, fleet.EINVALID)
	if s.Has("shop-before") || s.Has("shop-later") {
		t.Fatal("a refused branch was made")
	}
}

// The client reads the variants other Turso clients and servers use: the
// CLI's "dbId", usage under "usage", top_queries null, no pagination.
func TestDecodesVariants(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/organizations/acme/databases":
			fmt.Fprint(w, `{"databases":[{"Name":"a","dbId":"id-a","Hostname":"a-acme.turso.io","group":"default"},
				{"Name":"b","DbId":"id-b","Hostname":"b-acme.turso.io"}]}`)
		case strings.HasSuffix(r.URL.Path, "/usage"):
			fmt.Fprint(w, `{"database":{"uuid":"id-a","usage":{"rows_read":7,"rows_written":3,"storage_bytes":4096}}}`)
		case strings.HasSuffix(r.URL.Path, "/stats"):
			fmt.Fprint(w, `{"top_queries":null}`)
		default:
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":"not found"}`)
		}
	}))
	defer srv.Close()
	p, err := turso.New(turso.Options{Org: "acme", Token: "t", APIURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	dbs, err := p.List(ctx(t))
	if err != nil || len(dbs) != 2 || dbs[0].ID != "id-a" || dbs[1].ID != "id-b" {
		t.Fatalf("list %+v, %v", dbs, err)
	}
	u, err := p.Usage(ctx(t), "a")
	if err != nil || u.RowsRead != 7 || u.RowsWritten != 3 || u.StorageBytes != 4096 || u.TopQueries != nil {
		t.Fatalf("usage %+v, %v", u, err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, o := range []turso.Options{
		{Token: "t"},
		{Org: "Acme", Token: "t"},
		{Org: "acme"},
		{Org: "acme", Token: "t", APIURL: "ftp://x"},
		{Org: "acme", Token: "t", APIURL: "https://user:pw@api.turso.tech"},
	} {
		_, err := turso.New(o)
		wantCode(t, err, fleet.EINVALID)
	}
}

func TestNameLengthDependsOnOrg(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	p, s := start(t, sq, tursotest.Options{}, nil)
	most := 63 - len(s.Org) - 1
	_, err := p.Create(ctx(t), strings.Repeat("a", most+1))
	wantCode(t, err, fleet.EINVALID)
	if len(s.Requests()) != 0 {
		t.Fatal("an invalid name reached the API")
	}
	if _, err := p.Create(ctx(t), strings.Repeat("a", most)); err != nil {
		t.Fatal(err)
	}
}

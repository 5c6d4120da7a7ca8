package api_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	_ "modernc.org/sqlite"
)

// TestSignupLocal is a SaaS backend's signup on the local platform:
// create with an idempotency key (retried: the same job, nothing made
// twice), wait for it, read it, export it, import a copy, delete and
// restore it.
func TestSignupLocal(t *testing.T) {
	e := newEnv(t, nil)
	key := []string{"Idempotency-Key", "signup-42"}
	r := e.call(e.admin, "POST", "/api/v1/tenants", map[string]string{"name": "acme"}, key...).want(t, http.StatusAccepted)
	var j fleet.Job
	r.json(t, &j)
	if loc := r.header.Get("Location"); loc != fmt.Sprintf("/api/v1/jobs/%d", j.ID) || j.Kind != fleet.JobCreate {
		t.Fatalf("job %+v, Location %q", j, loc)
	}
	// Retried (the first answer was lost): the same job, with or without
	// waiting, and nothing made twice.
	var again fleet.Job
	r = e.call(e.admin, "POST", "/api/v1/tenants", json.RawMessage(`{ "name" : "acme" }`), key...)
	if r.status != http.StatusAccepted && r.status != http.StatusCreated {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	if r.status == http.StatusAccepted {
		r.json(t, &again)
		if again.ID != j.ID {
			t.Fatalf("retry queued job %d, first %d", again.ID, j.ID)
		}
	}
	if r.header.Get("Idempotent-Replayed") != "true" {
		t.Error("a replay is not marked Idempotent-Replayed")
	}
	var tn fleet.Tenant
	e.call(e.admin, "POST", "/api/v1/tenants?wait=30s", map[string]string{"name": "acme"}, key...).want(t, http.StatusCreated).json(t, &tn)
	if tn.Status != fleet.StatusReady || tn.JobID != 0 && tn.JobID != j.ID {
		t.Fatalf("tenant %+v", tn)
	}
	jobs, err := e.db.Jobs(context.Background(), central.JobFilter{Tenant: "acme"})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs for acme: %d (%v), want 1", len(jobs), err)
	}
	// The key for another request is refused, and nothing is made.
	p := e.call(e.admin, "POST", "/api/v1/tenants", map[string]string{"name": "other"}, key...).want(t, http.StatusUnprocessableEntity).problem(t)
	if !strings.Contains(p.Detail, "different request") {
		t.Errorf("problem %+v", p)
	}
	e.call(e.admin, "GET", "/api/v1/tenants/other", nil).want(t, http.StatusNotFound)
	// The job can be long-polled.
	e.call(e.viewer, "GET", fmt.Sprintf("/api/v1/jobs/%d?wait=5s", j.ID), nil).want(t, http.StatusOK).json(t, &j)
	if j.State != fleet.JobSucceeded {
		t.Fatalf("job %+v", j)
	}

	// Export, then import the file as a new tenant.
	r = e.call(e.viewer, "GET", "/api/v1/tenants/acme/export", nil).want(t, http.StatusOK)
	if !bytes.HasPrefix(r.body, []byte("SQLite format 3\x00")) || r.header.Get("Content-Type") != "application/vnd.sqlite3" {
		t.Fatalf("export: %q, %d bytes", r.header.Get("Content-Type"), len(r.body))
	}
	e.call(e.admin, "PUT", "/api/v1/tenants/acme-copy/import", r.body, "Content-Type", "application/vnd.sqlite3").want(t, http.StatusCreated).json(t, &tn)
	if tn.Name != "acme-copy" || tn.Status != fleet.StatusReady {
		t.Fatalf("imported %+v", tn)
	}
	// Delete (archived) and restore, waiting for each.
	e.call(e.admin, "DELETE", "/api/v1/tenants/acme-copy?wait=30s", nil).want(t, http.StatusOK).json(t, &tn)
	if tn.Status != fleet.StatusArchived {
		t.Fatalf("deleted %+v", tn)
	}
	e.call(e.admin, "POST", "/api/v1/tenants/acme-copy/restore?wait=30s", nil).want(t, http.StatusOK).json(t, &tn)
	if tn.Status != fleet.StatusReady {
		t.Fatalf("restored %+v", tn)
	}
	// A branch through the same call.
	e.call(e.admin, "POST", "/api/v1/tenants?wait=30s", map[string]string{"name": "acme-branch", "from": "acme"}).want(t, http.StatusCreated).json(t, &tn)
	if tn.Parent != "acme" {
		t.Fatalf("branch %+v", tn)
	}
}

// TestIdempotentRace: the same key sent many times at once queues one job
// and every answer names it.
func TestIdempotentRace(t *testing.T) {
	e := newEnv(t, nil)
	var wg sync.WaitGroup
	ids := make([]int64, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.call(e.admin, "POST", "/api/v1/tenants", map[string]string{"name": "acme"}, "Idempotency-Key", "k-1")
			var j fleet.Job
			switch r.status {
			case http.StatusAccepted:
				r.json(t, &j)
			case http.StatusCreated: // a replay after the job finished: the tenant
				var tn fleet.Tenant
				r.json(t, &tn)
				j.ID = -1
			default:
				t.Errorf("answer %d: %s", r.status, r.body)
			}
			ids[i] = j.ID
		}()
	}
	wg.Wait()
	first := int64(0)
	for _, id := range ids {
		if id > 0 && first == 0 {
			first = id
		}
		if id == 0 || id > 0 && id != first {
			t.Fatalf("job ids %v: want one job (-1: answered with the finished tenant)", ids)
		}
	}
	if jobs, err := e.db.Jobs(context.Background(), central.JobFilter{Tenant: "acme"}); err != nil || len(jobs) != 1 {
		t.Fatalf("%d jobs for acme (%v), want 1", len(jobs), err)
	}
}

// TestImportRefused: a body that is not SQLite, one over the limit, an
// empty one and a taken name are refused; nothing is created and no
// upload is left behind.
func TestImportRefused(t *testing.T) {
	uploads := t.TempDir()
	e := newEnv(t, func(o *api.Options) { o.MaxImportBytes = 64 << 10; o.TempDir = uploads })
	e.call(e.admin, "POST", "/api/v1/tenants?wait=30s", map[string]string{"name": "acme"}).want(t, http.StatusCreated)
	// A database whose header is right and whose pages are not.
	bad := append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xff}, 8192)...)
	big := bigDatabase(t, 200<<10)
	for _, c := range []struct {
		name, tenant string
		body         []byte
		status       int
		want         string
	}{
		{"text", "t1", []byte("name,orders\nacme,3\n"), http.StatusUnprocessableEntity, "SQLite"},
		{"corrupt", "t2", bad, http.StatusUnprocessableEntity, ""},
		{"empty", "t3", []byte{}, http.StatusUnprocessableEntity, "empty"},
		{"too large", "t4", big, http.StatusRequestEntityTooLarge, "limit"},
		{"taken", "acme", big[:0], http.StatusConflict, "already exists"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.call(e.admin, "PUT", "/api/v1/tenants/"+c.tenant+"/import", c.body, "Content-Type", "application/vnd.sqlite3").want(t, c.status)
			if p := r.problem(t); !strings.Contains(p.Detail, c.want) {
				t.Errorf("problem %+v, want %q", p, c.want)
			}
			if c.tenant != "acme" {
				e.call(e.admin, "GET", "/api/v1/tenants/"+c.tenant, nil).want(t, http.StatusNotFound)
			}
			if left, _ := os.ReadDir(uploads); len(left) != 0 {
				t.Errorf("uploads left behind: %v", left)
			}
		})
	}
	// Streamed without a length, over the limit: cut off while reading.
	req, _ := http.NewRequest("PUT", e.ts.URL+"/api/v1/tenants/t5/import", struct{ *bytes.Reader }{bytes.NewReader(big)})
	req.Header.Set("Authorization", "Bearer "+e.admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversize: %d", res.StatusCode)
	}
	if left, _ := os.ReadDir(uploads); len(left) != 0 {
		t.Errorf("uploads left behind: %v", left)
	}
}

// bigDatabase returns a valid SQLite file of at least n bytes.
func bigDatabase(t *testing.T, n int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t(b BLOB); INSERT INTO t VALUES(randomblob(?))`, n); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBadInput: each mistake gets its status and a clear problem, and
// nothing is created.
func TestBadInput(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct {
		name, method, path string
		body               any
		header             []string
		status             int
		want               string
	}{
		{"invalid name", "POST", "/api/v1/tenants", map[string]string{"name": "Bad_Name"}, nil, 422, "invalid"},
		{"not json", "POST", "/api/v1/tenants", "{name: acme", nil, 422, "malformed JSON"},
		{"unknown field", "POST", "/api/v1/tenants", map[string]string{"name": "acme", "plan": "gold"}, nil, 422, "unknown field \"plan\""},
		{"wrong type", "POST", "/api/v1/tenants", map[string]int{"name": 3}, nil, 422, "must be string"},
		{"two values", "POST", "/api/v1/tenants", `{"name":"a"} {"name":"b"}`, nil, 422, "more than one"},
		{"empty body", "POST", "/api/v1/tenants", "", nil, 422, "empty"},
		{"form body", "POST", "/api/v1/tenants", "name=acme", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"bad at", "POST", "/api/v1/tenants", map[string]string{"name": "b", "from": "x", "at": "yesterday"}, nil, 422, "RFC 3339"},
		{"at without from", "POST", "/api/v1/tenants", map[string]string{"name": "b", "at": "2026-01-02T00:00:00Z"}, nil, 422, "needs \"from\""},
		{"unknown source", "POST", "/api/v1/tenants", map[string]string{"name": "b", "from": "nope"}, nil, 404, "not found"},
		{"wait too long", "POST", "/api/v1/tenants?wait=5m", map[string]string{"name": "acme"}, nil, 400, "wait"},
		{"wait not a duration", "GET", "/api/v1/jobs/1?wait=soon", nil, nil, 400, "wait"},
		{"key too long", "POST", "/api/v1/tenants", map[string]string{"name": "acme"}, []string{"Idempotency-Key", strings.Repeat("k", 201)}, 400, "Idempotency-Key"},
		{"unknown tenant", "GET", "/api/v1/tenants/nope", nil, nil, 404, "not found"},
		{"invalid tenant", "GET", "/api/v1/tenants/No_Pe", nil, nil, 400, "invalid"},
		{"delete unknown", "DELETE", "/api/v1/tenants/nope", nil, nil, 404, "not found"},
		{"unknown job", "GET", "/api/v1/jobs/999", nil, nil, 404, "not found"},
		{"bad cursor", "GET", "/api/v1/tenants?cursor=!!", nil, nil, 400, "cursor"},
		{"bad limit", "GET", "/api/v1/tenants?limit=0", nil, nil, 400, "limit"},
		{"bad status", "GET", "/api/v1/tenants?status=happy", nil, nil, 400, "status"},
		{"unknown route", "GET", "/api/v1/nothing", nil, nil, 404, "No API route"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.call(e.admin, c.method, c.path, c.body, c.header...).want(t, c.status)
			if p := r.problem(t); !strings.Contains(p.Detail, c.want) {
				t.Errorf("problem %+v, want %q in detail", p, c.want)
			}
		})
	}
	ts, _, _ := e.db.ListTenants(context.Background(), central.TenantFilter{})
	if len(ts) != 0 {
		t.Fatalf("bad input created %v", ts)
	}
}

// TestListPages: pages in name order, filtered by status and prefix,
// neither skip nor repeat a tenant while others are created and deleted
// between them.
func TestListPages(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var want []string
	for i := range 250 {
		name := fmt.Sprintf("store-%04d", i*2)
		seed(t, e.db, name, fleet.StatusReady)
		want = append(want, name)
	}
	seed(t, e.db, "other", fleet.StatusArchived)
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		var p api.TenantPage
		e.call(e.viewer, "GET", "/api/v1/tenants?limit=40&prefix=store-&status=ready&cursor="+cursor, nil).want(t, http.StatusOK).json(t, &p)
		for _, tn := range p.Tenants {
			got = append(got, tn.Name)
		}
		// Changes between pages: new names fall before and after the
		// cursor, and a listed one goes.
		seed(t, e.db, fmt.Sprintf("store-%04d", pages*40+1), fleet.StatusCreating)
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("paged %d names, want %d; first difference near %v", len(got), len(want), firstDiff(got, want))
	}
	_ = ctx
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + " vs " + b[i]
		}
	}
	return "the end"
}

// seed registers a tenant directly (the registry is what is paged).
func seed(t testing.TB, db *central.DB, name, status string) {
	t.Helper()
	if _, err := db.SQL().Exec(`INSERT INTO tenants(name, platform, status, created_at) VALUES(?, 'local', ?, '2026-01-01T00:00:00.000Z')`, name, status); err != nil {
		t.Fatal(err)
	}
}

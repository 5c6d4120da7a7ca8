package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform/local"
	"github.com/tenantry/tenantry/internal/platform/sqld"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// TestRemoteFailuresRetried: a tenant on a sqld that is unavailable
// (overloaded, unreachable, its database locked) is tried Attempts times;
// one whose namespace does not exist, or that refuses the statement, is
// not tried again.
func TestRemoteFailuresRetried(t *testing.T) {
	// The data plane: /status/N answers status N as sqld would, /busy
	// that the statement found the database locked.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		w.Header().Set("Content-Type", "application/json")
		switch parts[0] {
		case "status":
			status, _ := strconv.Atoi(parts[1])
			w.WriteHeader(status)
			msg := "overloaded"
			if status == http.StatusNotFound {
				msg = "Namespace `store` doesn't exist"
			}
			fmt.Fprintf(w, `{"error":%q}`, msg)
		case "busy":
			fmt.Fprint(w, `{"baton":null,"base_url":null,"results":[`+
				`{"type":"error","error":{"message":"SQLite error: database is locked","code":"SQLITE_BUSY"}},`+
				`{"type":"ok","response":{"type":"close"}}]}`)
		}
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	ctx := context.Background()
	db, err := central.Open(ctx, "file:"+filepath.Join(t.TempDir(), "central.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		url      string
		attempts int
		code     string
	}{
		{srv.URL + "/status/503", 3, fleet.EUNAVAILABLE},
		{srv.URL + "/status/429", 3, fleet.EUNAVAILABLE},
		{closed, 3, fleet.EUNAVAILABLE},
		{srv.URL + "/busy", 3, fleet.EUNAVAILABLE},
		{srv.URL + "/status/404", 1, fleet.ENOTFOUND},
		{srv.URL + "/status/400", 1, fleet.EINTERNAL},
	} {
		p, err := sqld.New(sqld.Options{URL: c.url, AdminURL: closed, Catalog: db.Catalog("sqld")})
		if err != nil {
			t.Fatal(err)
		}
		col := &Collector{p: p, opts: Options{Timeout: 10 * time.Second, Attempts: 3}, log: slog.New(slog.DiscardHandler)}
		o := col.collectOne(ctx, newReader(p, time.Second), task{name: "store"}, day, day)
		if o.attempts != c.attempts || fleet.ErrorCode(o.err) != c.code {
			t.Errorf("%s: %d attempts, %q (%s); want %d attempts, %s", c.url, o.attempts, o.err, fleet.ErrorCode(o.err), c.attempts, c.code)
		}
	}
}

// TestTenantErrorsReachSQLite: a tenant's error names its tables as its
// own, and still reaches SQLite's error; it is not tried again.
func TestTenantErrorsReachSQLite(t *testing.T) {
	ctx := context.Background()
	p, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(ctx, "store"); err != nil { // an empty database: no store tables
		t.Fatal(err)
	}
	c := &Collector{p: p, opts: Options{Timeout: 10 * time.Second, Attempts: 3}, log: slog.New(slog.DiscardHandler)}
	r := newReader(p, time.Second)
	defer r.close()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	o := c.collectOne(ctx, r, task{name: "store"}, day, day)
	var se *sqlite.Error
	if o.err == nil || !strings.Contains(o.err.Error(), "no such table: ") ||
		!errors.As(o.err, &se) || se.Code() != sqlite3.SQLITE_ERROR || o.attempts != 1 {
		t.Fatalf("a tenant without the store's tables: %q after %d attempts", o.err, o.attempts)
	}
}

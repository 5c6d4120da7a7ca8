package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/web"
)

// scrape reads a Prometheus text exposition into series → value, the
// series spelled as exposed: name{label="value",…} with sorted labels.
func scrape(t *testing.T, res *http.Response) map[string]float64 {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", res.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func wantSeries(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("no series %s", k)
		} else if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
}

// serverWith is a second server over e's services, with other options.
func serverWith(t *testing.T, e *env, change func(*web.Options)) (*web.Server, *httptest.Server) {
	t.Helper()
	o := web.Options{DB: e.db, Lifecycle: e.life, Jobs: e.runner, Collector: e.srv.Collector, Rollouts: e.srv.Rollouts,
		Console: &console.Service{DB: e.db, Platform: e.srv.Console.Platform, Log: e.srv.Log}, Log: e.srv.Log}
	change(&o)
	srv := web.New(o)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, ts
}

// TestMetricsAfterRequestsAndACollection scrapes /metrics after known
// traffic and a collection with one broken tenant: latency by route
// template (never a raw path), the fleet and the job queue as the central
// database has them, and the run as it finished.
func TestMetricsAfterRequestsAndACollection(t *testing.T) {
	e := newEnv(t)
	e.srv.Collector.OnFinish = func(s collect.Summary) { e.srv.Metrics.CollectionFinished(s.CollectRun) }
	for _, n := range []string{"store-1", "store-2", "broken"} {
		if _, err := e.life.Create(t.Context(), "test", n); err != nil {
			t.Fatal(err)
		}
	}
	e.runJobs()
	e.tenantExec("store-1", `INSERT INTO orders(total_amount, created_at) VALUES (100, '2026-11-01 10:00:00'), (250, '2026-11-02 11:00:00')`)
	// Not a database any more: its collection fails, the others go on.
	if err := os.WriteFile(filepath.Join(e.dir, "tenants", "broken.db"), bytes.Repeat([]byte("not sqlite "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}

	for range 3 {
		if res := e.anon().get("/healthz"); res.StatusCode != http.StatusOK {
			t.Fatalf("/healthz: %d", res.StatusCode)
		}
	}
	c := e.login("admin@example.com")
	if res := c.get("/tenants/store-1"); res.StatusCode != http.StatusOK {
		t.Fatalf("/tenants/store-1: %d", res.StatusCode)
	}
	if res := c.get("/tenants/store-2"); res.StatusCode != http.StatusOK {
		t.Fatalf("/tenants/store-2: %d", res.StatusCode)
	}
	if res := c.get("/no/such/page-4711"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown page: %d", res.StatusCode)
	}
	if res := c.post("/collections", url.Values{"from": {"2026-11-01"}, "to": {"2026-11-02"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("collect now: %d", res.StatusCode)
	}

	// Queued, not yet run: the queue shows it, across replicas alike.
	m := scrape(t, c.get("/metrics"))
	wantSeries(t, m, map[string]float64{
		`tenantry_jobs{kind="metrics.collect",state="queued"}`:  1,
		`tenantry_jobs{kind="metrics.collect",state="running"}`: 0,
		`tenantry_collection_runs_total{outcome="succeeded"}`:   0,
	})

	e.runJobs()
	m = scrape(t, c.get("/metrics"))
	wantSeries(t, m, map[string]float64{
		`tenantry_http_request_duration_seconds_count{code="200",method="GET",route="/healthz"}`:       3,
		`tenantry_http_request_duration_seconds_count{code="200",method="GET",route="/tenants/:name"}`: 2,
		`tenantry_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"}`:      1,
		`tenantry_http_request_duration_seconds_count{code="303",method="POST",route="/collections"}`:  1,
		`tenantry_http_requests_in_flight`:                                   1, // this scrape
		`tenantry_central_up`:                                                1,
		`tenantry_tenants{status="ready"}`:                                   3,
		`tenantry_tenants{status="creating"}`:                                0,
		`tenantry_jobs{kind="metrics.collect",state="queued"}`:               0,
		`tenantry_jobs{kind="tenant.create",state="queued"}`:                 0,
		`tenantry_collection_runs_total{outcome="succeeded"}`:                1,
		`tenantry_collection_runs_total{outcome="failed"}`:                   0,
		`tenantry_collection_run_duration_seconds_count`:                     1,
		`tenantry_collection_tenant_failures_total`:                          1,
		`tenantry_collection_last_run_success{shard="all"}`:                  1,
		`tenantry_collection_last_run_tenants{result="ok",shard="all"}`:      2,
		`tenantry_collection_last_run_tenants{result="failed",shard="all"}`:  1,
		`tenantry_collection_last_run_tenants{result="skipped",shard="all"}`: 0,
	})
	for k := range m {
		if strings.Contains(k, "4711") || strings.Contains(k, "store-1") {
			t.Errorf("a raw path became a label: %s", k)
		}
	}
	if fin := m[`tenantry_collection_last_run_finished_timestamp_seconds{shard="all"}`]; time.Since(time.Unix(int64(fin), 0)) > time.Minute {
		t.Errorf("last run finished at %v", fin)
	}
	if m[`go_goroutines`] < 1 || m[`process_cpu_seconds_total`] <= 0 {
		t.Errorf("no Go or process metrics: go_goroutines %v, process_cpu_seconds_total %v", m["go_goroutines"], m["process_cpu_seconds_total"])
	}

	// Collection split in two: the last run of each half is reported, and
	// the whole-fleet run of the earlier split no longer is.
	for _, shard := range []string{"1/2", "2/2"} {
		sh, err := collect.ParseShard(shard)
		if err != nil {
			t.Fatal(err)
		}
		day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		if _, err := e.srv.Collector.Run(t.Context(), collect.Spec{From: day, To: day, Trigger: "test", Shard: sh}, nil); err != nil {
			t.Fatal(err)
		}
	}
	m = scrape(t, c.get("/metrics"))
	wantSeries(t, m, map[string]float64{
		`tenantry_collection_runs_total{outcome="succeeded"}`: 3,
		`tenantry_collection_last_run_success{shard="1/2"}`:   1,
		`tenantry_collection_last_run_success{shard="2/2"}`:   1,
	})
	if _, ok := m[`tenantry_collection_last_run_success{shard="all"}`]; ok {
		t.Error("the last whole-fleet run is still reported after the fleet was split")
	}
	if ok, failed := m[`tenantry_collection_last_run_tenants{result="ok",shard="1/2"}`]+m[`tenantry_collection_last_run_tenants{result="ok",shard="2/2"}`],
		m[`tenantry_collection_last_run_tenants{result="failed",shard="1/2"}`]+m[`tenantry_collection_last_run_tenants{result="failed",shard="2/2"}`]; ok != 2 || failed != 1 {
		t.Errorf("the halves collected %v tenants and failed %v, want 2 and 1", ok, failed)
	}
}

// TestOpsAccess: on the console's address, readiness and metrics answer a
// logged-in user or the metrics token, nobody else; the ops handler
// serves those three paths without login and nothing more.
func TestOpsAccess(t *testing.T) {
	e := newEnv(t)
	_, withToken := serverWith(t, e, func(o *web.Options) { o.MetricsToken = "s3cret-token" })
	get := func(base, path, auth string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	body := func(res *http.Response) string {
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	for _, path := range []string{"/metrics", "/readyz"} {
		for _, base := range []string{e.ts.URL, withToken.URL} {
			if res := get(base, path, ""); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
				t.Errorf("anonymous %s: %d %s", path, res.StatusCode, res.Header.Get("Location"))
			}
		}
		if res := get(withToken.URL, path, "Bearer s3cret-token"); res.StatusCode != http.StatusOK {
			t.Errorf("%s with the token: %d", path, res.StatusCode)
		}
		for _, auth := range []string{"Bearer s3cret-token-", "Bearer s3cret", "Bearer "} {
			if res := get(withToken.URL, path, auth); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with %q: %d", path, auth, res.StatusCode)
			}
		}
		// No token configured: no bearer token opens it.
		if res := get(e.ts.URL, path, "Bearer s3cret-token"); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with a token where none is configured: %d", path, res.StatusCode)
		}
		if res := e.login("viewer@example.com").get(path); res.StatusCode != http.StatusOK {
			t.Errorf("%s as a viewer: %d", path, res.StatusCode)
		}
	}
	if b := body(get(withToken.URL, "/readyz", "Bearer s3cret-token")); b != "ready\n" {
		t.Errorf("/readyz says %q", b)
	}

	ops := httptest.NewServer(e.srv.OpsHandler())
	t.Cleanup(ops.Close)
	if b := body(get(ops.URL, "/healthz", "")); b != "ok\n" {
		t.Errorf("ops /healthz: %q", b)
	}
	if b := body(get(ops.URL, "/readyz", "")); b != "ready\n" {
		t.Errorf("ops /readyz: %q", b)
	}
	if m := scrape(t, get(ops.URL, "/metrics", "")); m["tenantry_central_up"] != 1 {
		t.Errorf("ops /metrics: tenantry_central_up %v", m["tenantry_central_up"])
	}
	for _, path := range []string{"/", "/tenants", "/login", "/static/app.css", "/metrics/x"} {
		if res := get(ops.URL, path, ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("ops %s: %d, want 404", path, res.StatusCode)
		}
	}
	res, err := http.Post(ops.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("ops POST /metrics: %d", res.StatusCode)
	}
}

// TestNotReadyWhenCentralIsDown: /readyz says why with a 503; /metrics
// still answers, without the numbers it could not read.
func TestNotReadyWhenCentralIsDown(t *testing.T) {
	db, err := central.Open(t.Context(), "file:"+t.TempDir()+"/central.db", "")
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ops := httptest.NewServer(srv.OpsHandler())
	t.Cleanup(ops.Close)
	res, err := http.Get(ops.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/readyz before: %d", res.StatusCode)
	}
	db.Close()
	res, err = http.Get(ops.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(string(b), "not ready: central database: ") {
		t.Fatalf("/readyz with the database closed: %d %q", res.StatusCode, b)
	}
	res, err = http.Get(ops.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m := scrape(t, res)
	res.Body.Close()
	if m["tenantry_central_up"] != 0 {
		t.Errorf("tenantry_central_up = %v", m["tenantry_central_up"])
	}
	for k := range m {
		if strings.HasPrefix(k, "tenantry_tenants") || strings.HasPrefix(k, "tenantry_jobs") {
			t.Errorf("%s reported without the database", k)
		}
	}
}

// syncBuffer is a log destination requests write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the JSON log lines whose request_id is id.
func (s *syncBuffer) lines(t *testing.T, id string) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if m["request_id"] == id {
			out = append(out, m)
		}
	}
	return out
}

// TestRequestIDsInLogs: every request gets an ID (a sane incoming one is
// kept), its log lines carry it, and a panic is a logged 500 under it
// that leaves the server answering.
func TestRequestIDsInLogs(t *testing.T) {
	e := newEnv(t)
	var logs syncBuffer
	srv, ts := serverWith(t, e, func(o *web.Options) {
		o.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	srv.EchoForTest().GET("/test-panic", func(echo.Context) error { panic("kaboom") })
	get := func(path, id string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if id != "" {
			req.Header.Set("X-Request-ID", id)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	generated := regexp.MustCompile(`^[0-9a-f]{24}$`)

	if got := get("/healthz", "lb-7f3a.9:2").Header.Get("X-Request-ID"); got != "lb-7f3a.9:2" {
		t.Errorf("a sane incoming ID became %q", got)
	}
	if l := logs.lines(t, "lb-7f3a.9:2"); len(l) != 1 || l[0]["msg"] != "request" || l[0]["route"] != "/healthz" || l[0]["status"] != 200.0 {
		t.Errorf("request log lines for lb-7f3a.9:2: %v", l)
	}
	for _, bad := range []string{strings.Repeat("a", 65), "two words", "<script>", "a\"b"} {
		if got := get("/healthz", bad).Header.Get("X-Request-ID"); !generated.MatchString(got) {
			t.Errorf("incoming ID %q: answered with %q, want a fresh one", bad, got)
		}
	}
	a, b := get("/healthz", "").Header.Get("X-Request-ID"), get("/healthz", "").Header.Get("X-Request-ID")
	if !generated.MatchString(a) || a == b {
		t.Errorf("generated IDs %q and %q", a, b)
	}

	res := get("/test-panic", "")
	id := res.Header.Get("X-Request-ID")
	if res.StatusCode != http.StatusInternalServerError || id == "" {
		t.Fatalf("panic: %d, request ID %q", res.StatusCode, id)
	}
	msgs := map[string]map[string]any{}
	for _, l := range logs.lines(t, id) {
		msgs[l["msg"].(string)] = l
	}
	if p := msgs["panic"]; p == nil || p["level"] != "ERROR" || !strings.Contains(p["stack"].(string), "ops_test.go") || p["panic"] != "kaboom" {
		t.Errorf("panic log line: %v", p)
	}
	if r := msgs["request"]; r == nil || r["level"] != "ERROR" || r["status"] != 500.0 {
		t.Errorf("request log line of the panic: %v", r)
	}
	if msgs["request failed"] == nil {
		t.Errorf("no error log line under the panic's request ID: %v", msgs)
	}
	if res := get("/healthz", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("after a panic: %d", res.StatusCode)
	}
}

// TestServeShutdownTimeout: once Serve's context ends, a request that
// outlasts ShutdownTimeout is cut off and Serve says so, rather than
// keeping the process up.
func TestServeShutdownTimeout(t *testing.T) {
	e := newEnv(t)
	srv, _ := serverWith(t, e, func(o *web.Options) { o.ShutdownTimeout = 300 * time.Millisecond })
	entered := make(chan struct{})
	srv.EchoForTest().GET("/test-slow", func(c echo.Context) error {
		close(entered)
		select {
		case <-time.After(time.Minute):
		case <-c.Request().Context().Done():
		}
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, "127.0.0.1:0", func(a string) { addr <- a }) }()
	base := "http://" + <-addr
	go func() {
		if res, err := http.Get(base + "/test-slow"); err == nil {
			res.Body.Close()
		}
	}()
	<-entered
	start := time.Now()
	cancel()
	select {
	case err := <-served:
		if err == nil || !strings.Contains(err.Error(), "--shutdown-timeout") {
			t.Fatalf("Serve returned %v, want the cut-off reported", err)
		}
		if took := time.Since(start); took < 300*time.Millisecond || took > 5*time.Second {
			t.Errorf("Serve returned %v after its context ended, want about 300ms", took)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return")
	}
}

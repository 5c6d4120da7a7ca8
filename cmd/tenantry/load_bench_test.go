package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadRoute is one kind of request the load run makes, and how often.
type loadRoute struct {
	class  string
	weight int
	json   bool
	// post sends the path's query as a form with the session's CSRF
	// token, as the console's form does (a fan-out starts only so).
	post bool
	path func(r *rand.Rand) string
}

// BenchmarkLoad64 runs the built binary over a demo fleet (200 stores with
// a year of history, collected) and has 64 logged-in clients, each with
// its own session and connection, use it for 60 s on loopback: the
// overview, the reports as pages, JSON and CSV, the tenant list and
// tenant pages, and the SQL console, read-only on one tenant and fanned
// out over all of them (a POST, as the form sends it). Any error or
// non-2xx answer fails it, except 429 with Retry-After: each client is
// its own user, and the console runs only a few queries and fan-outs at
// once (console.MaxQueriesPerServer, MaxFanOutsPerServer); those refusals
// are counted apart. It reports
// requests per second and the p50 and p99 latency, overall and per class
// of route. TENANTRY_LOAD_SECONDS shortens the run, TENANTRY_LOAD_STORES
// and TENANTRY_LOAD_DAYS resize the fleet.
func BenchmarkLoad64(b *testing.B) {
	const clients = 64
	seconds := envInt(b, "TENANTRY_LOAD_SECONDS", 60)
	stores := envInt(b, "TENANTRY_LOAD_STORES", 200)
	days := envInt(b, "TENANTRY_LOAD_DAYS", 365)

	bin := buildBinary(b)
	data := b.TempDir()
	start := time.Now()
	binRun(b, bin, data, "demo", "--stores", strconv.Itoa(stores), "--days", strconv.Itoa(days), "--seed", "64")
	made := time.Since(start)
	var names []string
	var ts []tenantJSON
	if err := json.Unmarshal([]byte(binRun(b, bin, data, "tenants", "list", "--json")), &ts); err != nil || len(ts) != stores {
		b.Fatalf("%d tenants listed: %v", len(ts), err)
	}
	for _, tn := range ts {
		names = append(names, tn.Name)
	}
	srv := startLiveServer(b, bin, data)
	base := "http://" + srv.addr

	today := time.Now().UTC()
	day := func(back int) string { return today.AddDate(0, 0, -back).Format("2006-01-02") }
	month := func(back int) string { return today.AddDate(0, -back, 0).Format("2006-01") }
	reportRange := func(r *rand.Rand) string {
		switch r.IntN(3) {
		case 0:
			return ""
		case 1:
			return "?from=" + day(89) + "&to=" + day(0)
		}
		return "?from=" + day(days-1) + "&to=" + day(0)
	}
	reports := []string{"/reports/daily-activity", "/reports/average-revenue"}
	report := func(r *rand.Rand, suffix string) string {
		if r.IntN(3) == 0 {
			return "/reports/top-stores" + suffix + "?month=" + month(r.IntN(12)) + "&sort=" + []string{"revenue", "orders", "aov", "change", "name"}[r.IntN(5)]
		}
		return reports[r.IntN(len(reports))] + suffix + reportRange(r)
	}
	tenant := func(r *rand.Rand) string { return names[r.IntN(len(names))] }
	sqlOne := []string{
		"SELECT count(*) AS orders, sum(total_amount) AS revenue FROM orders WHERE created_at >= date('now', '-30 days')",
		"SELECT status, count(*) FROM orders GROUP BY status ORDER BY 2 DESC",
		"SELECT name, price FROM products ORDER BY price DESC LIMIT 20",
		"SELECT date(created_at) AS day, count(*) FROM orders GROUP BY day ORDER BY day DESC LIMIT 30",
	}
	sqlAll := []string{
		"SELECT count(*) AS orders FROM orders",
		"SELECT max(total_amount) AS biggest FROM orders WHERE created_at >= date('now', '-7 days')",
	}
	routes := []loadRoute{
		{"overview", 10, false, false, func(*rand.Rand) string { return "/" }},
		{"report page", 15, false, false, func(r *rand.Rand) string { return report(r, "") }},
		{"report JSON", 10, true, false, func(r *rand.Rand) string { return report(r, "") }},
		{"report CSV", 5, false, false, func(r *rand.Rand) string { return report(r, ".csv") }},
		{"tenant list", 10, false, false, func(r *rand.Rand) string {
			return []string{"/tenants", "/tenants?q=" + tenant(r)[:2], "/tenants?page=2", "/tenants?status=ready"}[r.IntN(4)]
		}},
		{"tenant page", 10, false, false, func(r *rand.Rand) string { return "/tenants/" + tenant(r) }},
		{"SQL one tenant", 8, false, false, func(r *rand.Rand) string {
			return "/sql?" + url.Values{"run": {"1"}, "scope": {"tenant"}, "tenant": {tenant(r)}, "sql": {sqlOne[r.IntN(len(sqlOne))]}}.Encode()
		}},
		{"SQL one tenant JSON", 4, true, false, func(r *rand.Rand) string {
			return "/sql?" + url.Values{"run": {"1"}, "scope": {"tenant"}, "tenant": {tenant(r)}, "sql": {sqlOne[r.IntN(len(sqlOne))]}}.Encode()
		}},
		{"SQL fan-out", 2, true, true, func(r *rand.Rand) string {
			return "/sql?" + url.Values{"run": {"1"}, "scope": {"all"}, "sql": {sqlAll[r.IntN(len(sqlAll))]}}.Encode()
		}},
	}
	total := 0
	for _, rt := range routes {
		total += rt.weight
	}
	pick := func(r *rand.Rand) loadRoute {
		n := r.IntN(total)
		for _, rt := range routes {
			if n < rt.weight {
				return rt
			}
			n -= rt.weight
		}
		panic("unreachable")
	}

	sessions := make([]*session, clients)
	for i := range sessions {
		// 64 people, as 64 browsers would be: the console's per-user
		// limits (two queries at once) stay out of the way, and its
		// per-server ones are what a crowd meets.
		email := fmt.Sprintf("load-%d@example.com", i)
		binRun(b, bin, data, "users", "add", email, "--role", "viewer")
		sessions[i] = liveLogin(b, base, email, "crash-test-password")
		// Each client its own keep-alive connection, as 64 browsers.
		sessions[i].client.Transport = &http.Transport{MaxIdleConnsPerHost: 1}
	}

	type sample struct {
		class string
		took  time.Duration
	}
	var (
		mu       sync.Mutex
		samples  []sample
		failures []string
		failed   int
		busy     int
		wg       sync.WaitGroup
	)
	b.ResetTimer()
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	begin := time.Now()
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 64))
			var mine []sample
			for time.Now().Before(deadline) {
				rt := pick(r)
				path := rt.path(r)
				req, _ := http.NewRequest(http.MethodGet, base+path, nil)
				if rt.post {
					p, q, _ := strings.Cut(path, "?")
					req, _ = http.NewRequest(http.MethodPost, base+p, strings.NewReader(q+"&csrf="+url.QueryEscape(s.csrf)))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				if rt.json {
					req.Header.Set("Accept", "application/json")
				}
				t0 := time.Now()
				res, err := s.client.Do(req)
				var fail string
				if err != nil {
					fail = err.Error()
				} else {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					switch {
					case err != nil:
						fail = err.Error()
					case res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") != "":
						mu.Lock()
						busy++
						mu.Unlock()
						continue
					case res.StatusCode < 200 || res.StatusCode > 299:
						fail = res.Status
					}
				}
				took := time.Since(t0)
				if fail != "" {
					mu.Lock()
					failed++
					if len(failures) < 20 {
						failures = append(failures, fmt.Sprintf("%s %s: %s", rt.class, path, fail))
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, sample{rt.class, took})
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	b.StopTimer()

	for _, f := range failures {
		b.Error(f)
	}
	if failed > 0 {
		b.Fatalf("%d of %d requests failed", failed, failed+len(samples))
	}
	for _, line := range strings.Split(srv.log(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "panic") {
			b.Errorf("server log: %s", line)
		}
	}
	byClass := map[string][]time.Duration{}
	var all []time.Duration
	for _, s := range samples {
		byClass[s.class] = append(byClass[s.class], s.took)
		all = append(all, s.took)
	}
	rps := float64(len(all)) / elapsed.Seconds()
	// At most ten lines: a benchmark's log is cut after that.
	b.Logf("%d stores × %d days (made in %s), %d clients, %s: %d requests (and %d busy, 429), %.0f req/s, p50 %s, p99 %s, max %s", stores, days,
		made.Round(time.Second), clients, elapsed.Round(time.Millisecond), len(all), busy, rps, pct(all, 50), pct(all, 99), pct(all, 100))
	b.ReportMetric(float64(len(all)), "requests")
	b.ReportMetric(float64(busy), "busy-429")
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(ms(pct(all, 50)), "ms-p50")
	b.ReportMetric(ms(pct(all, 99)), "ms-p99")
	for _, rt := range routes {
		d := byClass[rt.class]
		if len(d) == 0 {
			b.Errorf("no %s request completed", rt.class)
			continue
		}
		b.Logf("  %-20s %6d requests, p50 %8s, p99 %8s", rt.class, len(d), pct(d, 50), pct(d, 99))
		unit := strings.ReplaceAll(strings.ToLower(rt.class), " ", "-")
		b.ReportMetric(ms(pct(d, 50)), "ms-p50-"+unit)
		b.ReportMetric(ms(pct(d, 99)), "ms-p99-"+unit)
	}
	b.ReportMetric(0, "ns/op")
}

// pct returns the p-th percentile of d (which it sorts).
func pct(d []time.Duration, p int) time.Duration {
	slices.Sort(d)
	i := len(d) * p / 100
	if i >= len(d) {
		i = len(d) - 1
	}
	return d[i].Round(10 * time.Microsecond)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envInt(tb testing.TB, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q is not a positive number", key, v)
	}
	return n
}

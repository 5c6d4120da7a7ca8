package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
)

// BenchmarkTenantListPage10k times the registry page's server side (query,
// render, write) with 10,000 tenants, through the whole Echo router and its
// middleware (session lookup, CSRF), for the default page and for a search
// sorted by size, and sorts by the business columns (over 90 days of
// metrics per tenant). Target: under 30 ms.
func BenchmarkTenantListPage10k(b *testing.B) {
	e := newEnv(b)
	seen := make([]central.Observed, 10_000)
	for i := range seen {
		seen[i] = central.Observed{Name: fmt.Sprintf("store-%05d", i), URL: fmt.Sprintf("file:/srv/tenants/store-%05d.db", i),
			SizeBytes: int64(i%977) * 40960, ModifiedAt: time.Now().Add(-time.Duration(i) * time.Minute)}
	}
	if _, err := e.db.Reconcile(b.Context(), "local", seen, nil); err != nil {
		b.Fatal(err)
	}
	// 90 days of metrics per tenant (page views never read the metrics table,
	// only the rollup; a longer history only slows this set-up), and the activity rollup as
	// collections would have left it (the first page view moves its
	// window to today).
	start := time.Now()
	if _, err := e.db.SQL().ExecContext(b.Context(), `WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 89)
		INSERT INTO metrics(date, database_name, total_orders, total_revenue, active_carts, new_products)
		SELECT date('now', '-' || d.n || ' days'), t.name, (d.n * 7 + CAST(substr(t.name, 7) AS INTEGER)) % 11,
			((d.n * 7 + CAST(substr(t.name, 7) AS INTEGER)) % 11) * 2599, 1, 0
		FROM tenants t, d`); err != nil {
		b.Fatal(err)
	}
	if _, err := e.db.SQL().ExecContext(b.Context(), `UPDATE tenant_activity SET last_order_date =
		(SELECT max(date || '') FROM metrics WHERE database_name = tenant_activity.name AND total_orders > 0)`); err != nil {
		b.Fatal(err)
	}
	if _, err := e.db.SQL().ExecContext(b.Context(), `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	b.Logf("metrics: 10,000 tenants × 90 days in %v", time.Since(start))
	start = time.Now()
	if _, _, err := e.db.ListTenants(b.Context(), central.TenantFilter{Limit: 1}); err != nil {
		b.Fatal(err)
	}
	b.Logf("activity window moved to today in %v", time.Since(start))
	c := e.login("admin@example.com")
	cookies := c.http.Jar.Cookies(mustURL(e.ts.URL))
	h := e.srv.Handler()
	for _, path := range []string{"/tenants", "/tenants?q=store-09&sort=size_bytes&desc=1&page=2", "/tenants?page=200",
		"/tenants?sort=orders_30d&desc=1&page=2", "/tenants?sort=revenue_30d&page=2", "/tenants?q=store-09&sort=last_order_date&desc=1&page=2"} {
		b.Run(path, func(b *testing.B) {
			var samples []time.Duration
			for b.Loop() {
				for range 50 {
					req := httptest.NewRequest(http.MethodGet, path, nil)
					for _, ck := range cookies {
						req.AddCookie(ck)
					}
					rec := httptest.NewRecorder()
					start := time.Now()
					h.ServeHTTP(rec, req)
					samples = append(samples, time.Since(start))
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d", path, rec.Code)
					}
				}
			}
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "ms-median")
			b.ReportMetric(float64(samples[len(samples)*99/100].Microseconds())/1000, "ms-p99")
			b.ReportMetric(0, "ns/op")
		})
	}
}

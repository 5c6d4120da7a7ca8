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
// sorted by size. Target: under 30 ms.
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
	c := e.login("admin@example.com")
	cookies := c.http.Jar.Cookies(mustURL(e.ts.URL))
	h := e.srv.Handler()
	for _, path := range []string{"/tenants", "/tenants?q=store-09&sort=size_bytes&desc=1&page=2", "/tenants?page=200"} {
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

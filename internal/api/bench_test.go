package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/api"
)

// report gives the median and slowest of samples as metrics.
func report(b *testing.B, prefix string, samples []time.Duration) time.Duration {
	slices.Sort(samples)
	med := samples[len(samples)/2]
	b.ReportMetric(float64(med.Microseconds())/1000, prefix+"ms-median")
	b.ReportMetric(float64(samples[len(samples)-1].Microseconds())/1000, prefix+"ms-max")
	b.ReportMetric(0, "ns/op") // the mean of a sampled loop says nothing
	return med
}

// get calls the API without the document check (the benchmarks time
// the server, not the test's validator).
func get(b *testing.B, e *env, token, method, path string) int {
	req, _ := http.NewRequest(method, e.ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if method == "POST" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// BenchmarkAPICreateWait times a signup's create through the API with
// ?wait on the local platform: token check, rate count, audit, the
// durable job run by the server's workers, the schema migration, and the
// tenant as JSON. Target: median under 40 ms.
func BenchmarkAPICreateWait(b *testing.B) {
	e := newEnv(b, func(o *api.Options) { o.RateLimit = -1 })
	var samples []time.Duration
	i := 0
	for b.Loop() {
		for range 40 {
			i++
			body := fmt.Sprintf(`{"name":"store-%d"}`, i)
			req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/tenants?wait=30s", stringsReader(body))
			req.Header.Set("Authorization", "Bearer "+e.admin)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprintf("signup-%d", i))
			start := time.Now()
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			samples = append(samples, time.Since(start))
			if res.StatusCode != http.StatusCreated {
				b.Fatalf("create: %d", res.StatusCode)
			}
		}
	}
	report(b, "", samples)
}

// BenchmarkAPIList10k times listing 10,000 tenants in pages of 500,
// following next_cursor. Target: under 1 s in all.
func BenchmarkAPIList10k(b *testing.B) {
	e := newEnv(b, func(o *api.Options) { o.RateLimit = -1 })
	tx, _ := e.db.SQL().Begin()
	for i := range 10000 {
		if _, err := tx.Exec(`INSERT INTO tenants(name, platform, status, url, schema_version, size_bytes, created_at)
			VALUES(?, 'local', 'ready', ?, 1, 61440, '2026-01-01T00:00:00.000Z')`, fmt.Sprintf("store-%05d", i), fmt.Sprintf("file:/data/tenants/store-%05d.db", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	var samples []time.Duration
	for b.Loop() {
		start := time.Now()
		n, cursor := 0, ""
		for {
			var p api.TenantPage
			r := e.callRaw(e.viewer, "/api/v1/tenants?limit=500&cursor="+cursor)
			r.json(b, &p)
			n += len(p.Tenants)
			if p.NextCursor == nil {
				break
			}
			cursor = *p.NextCursor
		}
		samples = append(samples, time.Since(start))
		if n != 10000 {
			b.Fatalf("listed %d", n)
		}
	}
	report(b, "", samples)
}

// BenchmarkAPIOverhead compares reading a tenant through the API (token
// check, rate count, audit entry, JSON over loopback HTTP) with the
// same service call in process, and with the floor of any answer over
// HTTP: a call of the same server refused before any of the API's work
// (no token: a small problem document). The overhead is the API's
// median minus the floor's and the service's. Target: under 1 ms.
func BenchmarkAPIOverhead(b *testing.B) {
	e := newEnv(b, func(o *api.Options) { o.RateLimit = 1 << 30 })
	ctx := context.Background()
	if _, err := e.life.Create(ctx, "bench", "acme"); err != nil {
		b.Fatal(err)
	}
	var api, direct, bare []time.Duration
	for b.Loop() {
		for range 200 {
			start := time.Now()
			if get(b, e, e.viewer, "GET", "/api/v1/tenants/acme") != http.StatusOK {
				b.Fatal("api get failed")
			}
			api = append(api, time.Since(start))
			start = time.Now()
			if _, err := e.db.Tenant(ctx, "acme"); err != nil {
				b.Fatal(err)
			}
			direct = append(direct, time.Since(start))
			start = time.Now()
			if get(b, e, "", "GET", "/api/v1/tenants/acme") != http.StatusUnauthorized {
				b.Fatal("the floor's call was not refused")
			}
			bare = append(bare, time.Since(start))
		}
	}
	a := report(b, "api-", api)
	d := report(b, "service-", direct)
	f := report(b, "http-floor-", bare)
	b.ReportMetric(float64((a-d-f).Microseconds())/1000, "overhead-ms")
}

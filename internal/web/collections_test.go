package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/collect"
)

func TestCollectionsFlow(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"store-1", "store-2"} {
		if _, err := e.life.Create(t.Context(), "test", n); err != nil {
			t.Fatal(err)
		}
	}
	e.runJobs()
	c := e.login("admin@example.com")
	if doc := c.doc(c.get("/collections")); doc.Find(`[data-testid="collect-now"]`).Length() != 1 {
		t.Fatal("no Collect now button for an admin")
	}

	res := c.post("/collections", nil)
	var id int64
	if _, err := fmt.Sscanf(res.Header.Get("Location"), "/collections/%d", &id); err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("collect now: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// A second one while the first is queued is refused, inline.
	res = c.post("/collections", url.Values{"from": {"2026-11-01"}, "to": {"2026-11-02"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(c.doc(res).Find(`[data-testid="inline-error"]`).Text(), "already") {
		t.Fatalf("second collection: %d", res.StatusCode)
	}
	// While queued, the run page polls.
	if doc := c.doc(c.get(fmt.Sprintf("/collections/%d", id))); doc.Find(`[data-testid="run-progress"][hx-get]`).Length() != 1 {
		t.Fatal("a queued run's page does not poll")
	}
	e.runJobs()
	doc := c.doc(c.get(fmt.Sprintf("/collections/%d/progress", id)))
	if st, _ := doc.Find(`[data-testid="run-progress"]`).Attr("data-state"); st != "succeeded" || doc.Find(`[data-testid="run-progress"][hx-get]`).Length() != 0 {
		t.Fatalf("finished run fragment: state %q", st)
	}
	res = c.get(fmt.Sprintf("/collections/%d", id), "Accept", "application/json")
	sum := jsonBody[collect.Summary](t, res)
	if sum.OK != 2 || sum.Failed != 0 || sum.Tenants != 2 || sum.From == "" {
		t.Fatalf("summary: %+v", sum)
	}
	doc = c.doc(c.get(fmt.Sprintf("/collections/%d", id)))
	if n := doc.Find(`[data-testid="result-row"]`).Length(); n != 2 {
		t.Fatalf("run page lists %d collected tenants", n)
	}

	// Bad ranges: a clear message and a 400, nothing queued.
	for _, form := range []url.Values{
		{"from": {"2026-13-01"}, "to": {"2026-11-02"}},
		{"from": {"2026-11-05"}, "to": {"2026-11-01"}},
		{"from": {"2020-01-01"}, "to": {"2026-11-01"}},
		{"from": {"2026-11-01"}},
	} {
		res := c.post("/collections", form)
		if res.StatusCode != http.StatusBadRequest || c.doc(res).Find(`[data-testid="inline-error"]`).Text() == "" {
			t.Errorf("backfill %v: %d", form, res.StatusCode)
		}
	}
	doc = c.doc(c.get("/collections"))
	if n := doc.Find(`[data-testid="run-row"]`).Length(); n != 1 {
		t.Fatalf("%d runs listed, want 1", n)
	}
	// Viewers see runs but cannot start one.
	v := e.login("viewer@example.com")
	if doc := v.doc(v.get("/collections")); doc.Find(`[data-testid="collect-now"]`).Length() != 0 || doc.Find(`[data-testid="run-row"]`).Length() != 1 {
		t.Fatal("viewer's collections page")
	}
	if res := v.post("/collections", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer collect: %d", res.StatusCode)
	}
}

package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/tokens"
)

// TestOneClock: the console's clock, set once on the central database, is
// the one every layer reads. A tenant created from a page is stamped by
// it, a token made for a day is live and shown live, and the reports and
// the collections page count their days from it.
func TestOneClock(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2025, 7, 15, 22, 30, 0, 0, time.UTC) // in the past: a real clock would disagree
	e.clock.Set(at)
	c := e.login("admin@example.com")

	jobID(t, c.post("/tenants", url.Values{"name": {"store-1"}}))
	tn, err := e.db.Tenant(t.Context(), "store-1")
	if err != nil {
		t.Fatal(err)
	}
	if !tn.CreatedAt.Equal(at) {
		t.Errorf("tenant created at %s, want %s", tn.CreatedAt, at)
	}

	if _, _, err := tokens.New(e.db).Create(t.Context(), "admin@example.com", "backend", "admin", "1d"); err != nil {
		t.Fatal(err)
	}
	if status, _ := c.doc(c.get("/tokens")).Find(`[data-testid="token-row"]`).Attr("data-status"); status != "live" {
		t.Errorf("a token made today for a day is %q, want live", status)
	}

	doc := c.doc(c.get("/collections"))
	if to, _ := doc.Find(`#backfill-to`).Attr("value"); to != "2025-07-15" {
		t.Errorf("collections page: backfill to %q, want today 2025-07-15", to)
	}
	if m := strings.TrimSpace(c.doc(c.get("/reports/top-stores")).Find(`[data-testid="month-label"]`).Text()); m != "July 2025" {
		t.Errorf("top stores: month %q, want July 2025", m)
	}
}

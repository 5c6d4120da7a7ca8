package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/web"
)

// TestAuditDateFilter: from and to are inclusive days, combined with the
// other filters; bad dates are refused with a clear message.
func TestAuditDateFilter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	day := func(s string) time.Time { d, _ := time.Parse(time.RFC3339, s); return d }
	for _, a := range []fleet.AuditEntry{
		{At: day("2026-11-09T23:59:59Z"), Actor: "a@example.com", Action: "tenant.create", Tenant: "store-1"},
		{At: day("2026-11-10T00:00:00Z"), Actor: "a@example.com", Action: "tenant.create", Tenant: "store-2"},
		{At: day("2026-11-11T12:00:00Z"), Actor: "b@example.com", Action: "tenant.delete", Tenant: "store-2"},
		{At: day("2026-11-12T23:59:59Z"), Actor: "a@example.com", Action: "tenant.create", Tenant: "store-3"},
		{At: day("2026-11-13T00:00:00Z"), Actor: "a@example.com", Action: "tenant.create", Tenant: "store-4"},
	} {
		if err := e.db.Audit(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	c := e.login("viewer@example.com")
	tenants := func(q url.Values) []string {
		t.Helper()
		var out []string
		for _, a := range jsonBody[[]fleet.AuditEntry](t, c.get("/audit?"+q.Encode(), "Accept", "application/json")) {
			if a.Tenant != "" {
				out = append(out, a.Tenant)
			}
		}
		return out
	}
	for _, tc := range []struct {
		q    url.Values
		want string
	}{
		{url.Values{"from": {"2026-11-10"}, "to": {"2026-11-12"}}, "store-3 store-2 store-2"},
		{url.Values{"from": {"2026-11-12"}, "to": {"2026-11-12"}}, "store-3"},
		{url.Values{"from": {"2026-11-12"}}, "store-4 store-3"},
		{url.Values{"to": {"2026-11-09"}}, "store-1"},
		{url.Values{"from": {"2026-11-10"}, "to": {"2026-11-12"}, "actor": {"a@example.com"}}, "store-3 store-2"},
		{url.Values{"from": {"2026-11-10"}, "tenant": {"store-2"}, "action": {"tenant.delete"}}, "store-2"},
	} {
		if got := strings.Join(tenants(tc.q), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.q.Encode(), got, tc.want)
		}
	}

	// The page keeps the filters in its form.
	doc := c.doc(c.get("/audit?from=2026-11-10&to=2026-11-12&actor=b@example.com"))
	if doc.Find(`[data-testid="audit-row"]`).Length() != 1 || doc.Find(`#audit-from`).AttrOr("value", "") != "2026-11-10" ||
		doc.Find(`#audit-to`).AttrOr("value", "") != "2026-11-12" || doc.Find(`[data-testid="clear-filter"]`).Length() != 1 {
		t.Errorf("filtered page: %d rows", doc.Find(`[data-testid="audit-row"]`).Length())
	}

	for _, tc := range []struct{ q, msg string }{
		{"from=2026-13-01", `From: "2026-13-01" is not a date: use YYYY-MM-DD`},
		{"to=yesterday", `To: "yesterday" is not a date`},
		{"from=2026-11-12&to=2026-11-10", "from 2026-11-12 is after to 2026-11-10"},
		{"before=x", "not an audit entry number"},
	} {
		res := c.get("/audit?" + tc.q)
		doc := c.doc(res)
		if msg := doc.Find(`[data-testid="inline-error"]`).Text(); res.StatusCode != http.StatusBadRequest || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %d %q, want 400 %q", tc.q, res.StatusCode, msg, tc.msg)
		}
		if doc.Find(`[data-testid="audit-filter"]`).Length() != 1 {
			t.Errorf("%s: the refusal lost the filter form", tc.q)
		}
		res = c.get("/audit?"+tc.q, "Accept", "application/json")
		if body := jsonBody[map[string]string](t, res); res.StatusCode != http.StatusBadRequest || !strings.Contains(body["error"], tc.msg) {
			t.Errorf("%s as JSON: %d %v", tc.q, res.StatusCode, body)
		}
	}
}

// TestAuditOlderPages: past a page of entries an "Older" link pages back,
// keeping the filters, until the oldest entry.
func TestAuditOlderPages(t *testing.T) {
	e := newEnv(t)
	const n = 2*web.AuditPageSize + 7
	tx, err := e.db.SQL().Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := tx.Exec(`INSERT INTO audit_log(at, actor, action, tenant, detail, outcome) VALUES(?, 'a@example.com', 'tenant.create', 'store-1', ?, 'ok')`,
			time.Date(2026, 11, 10, 0, 0, i, 0, time.UTC).Format("2006-01-02T15:04:05.000Z"), i); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c := e.login("viewer@example.com")
	path, seen, pages := "/audit?tenant=store-1&from=2026-11-10", 0, 0
	for path != "" {
		doc := c.doc(c.get(path))
		rows := doc.Find(`[data-testid="audit-row"]`).Length()
		seen += rows
		pages++
		next, _ := doc.Find(`[data-testid="audit-older"]`).Attr("href")
		if next != "" && (rows != web.AuditPageSize || !strings.Contains(next, "tenant=store-1") || !strings.Contains(next, "from=2026-11-10")) {
			t.Fatalf("page %d: %d rows, older link %q", pages, rows, next)
		}
		if pages > 1 && doc.Find(`[data-testid="audit-newest"]`).Length() != 1 {
			t.Errorf("page %d has no link back to the newest entries", pages)
		}
		path = next
		if pages > 5 {
			t.Fatal("the older links do not end")
		}
	}
	if seen != n || pages != 3 {
		t.Fatalf("paged through %d entries on %d pages, want %d on 3", seen, pages, n)
	}
	// JSON stays an array, with the older page as a Link.
	res := c.get("/audit?tenant=store-1", "Accept", "application/json")
	if link := res.Header.Get("Link"); !strings.Contains(link, `rel="next"`) || !strings.Contains(link, "before=") {
		t.Errorf("JSON Link %q", link)
	}
	if es := jsonBody[[]fleet.AuditEntry](t, res); len(es) != web.AuditPageSize {
		t.Errorf("JSON page: %d entries", len(es))
	}
}

// TestConsoleChangesAudited: changes made from the console that no job
// records are audited, refused ones too.
func TestConsoleChangesAudited(t *testing.T) {
	e := newEnv(t)
	sqlFleet(t, e, 1)
	admin := e.login("admin@example.com")
	viewer := e.login("viewer@example.com")

	if res := admin.post("/tenants/rescan", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rescan: %d", res.StatusCode)
	}
	if a := lastAudit(t, e, "tenant.rescan"); a.Actor != "admin@example.com" || a.Outcome != "ok" || !strings.Contains(a.Detail, "adopted") {
		t.Errorf("rescan audited as %+v", a)
	}
	if res := admin.post("/collections", url.Values{"from": {"2026-11-10"}, "to": {"2026-11-01"}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("backwards collection: %d", res.StatusCode)
	}
	if a := lastAudit(t, e, "metrics.collect"); a.Outcome != "error" || !strings.Contains(a.Error, "before it starts") {
		t.Errorf("refused collection audited as %+v", a)
	}
	if res := admin.post("/migrations", url.Values{"mode": {"full"}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("unconfirmed rollout: %d", res.StatusCode)
	}
	if a := lastAudit(t, e, "schema.rollout.start"); a.Outcome != "error" || a.Actor != "admin@example.com" {
		t.Errorf("refused rollout audited as %+v", a)
	}
	if res := viewer.post("/sql/saved", url.Values{"name": {"big orders"}, "sql": {"SELECT * FROM orders WHERE total_amount > 50"}, "tenant": {"store-1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save a query: %d", res.StatusCode)
	}
	if a := lastAudit(t, e, "sql.saved.add"); a.Actor != "viewer@example.com" || a.Tenant != "store-1" || !strings.HasPrefix(a.Detail, "big orders: SELECT") {
		t.Errorf("saved query audited as %+v", a)
	}
	qs, err := e.db.SavedQueries(t.Context())
	if err != nil || len(qs) != 1 {
		t.Fatalf("saved queries: %v %v", qs, err)
	}
	if res := admin.post("/sql/saved/"+strconv.FormatInt(qs[0].ID, 10)+"/delete", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete the saved query: %d", res.StatusCode)
	}
	if a := lastAudit(t, e, "sql.saved.delete"); a.Actor != "admin@example.com" || a.Detail != "big orders" || a.Outcome != "ok" {
		t.Errorf("deleted query audited as %+v", a)
	}
	// Logging in and out is recorded, a failed login too.
	c := e.anon()
	c.refreshCSRF("/login")
	c.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"not the password"}})
	if a := lastAudit(t, e, "user.login"); a.Actor != "admin@example.com" || a.Outcome != "error" {
		t.Errorf("failed login audited as %+v", a)
	}
	admin.post("/logout", nil)
	if a := lastAudit(t, e, "user.logout"); a.Actor != "admin@example.com" {
		t.Errorf("logout audited as %+v", a)
	}
}

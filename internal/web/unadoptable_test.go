package web_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/platform/local/localtest"

	"github.com/PuerkitoBio/goquery"
)

// TestTenantsPageListsUnadoptableFiles: after a rescan, each file in the
// tenants directory that cannot be adopted is listed above the table with
// its reason, while a good file dropped beside them becomes a tenant.
func TestTenantsPageListsUnadoptableFiles(t *testing.T) {
	e := newEnv(t)
	c := e.login("admin@example.com")
	if doc := c.doc(c.get("/tenants")); doc.Find(`[data-testid="unadoptable-notice"]`).Length() != 0 {
		t.Fatal("a notice with nothing to say")
	}

	dir := filepath.Join(e.dir, "tenants")
	localtest.PlantBadFiles(t, dir)
	if res := c.post("/tenants/rescan", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rescan: %d", res.StatusCode)
	}

	doc := c.doc(c.get("/tenants"))
	got := map[string]string{}
	doc.Find(`[data-testid="unadoptable-notice"] [data-testid="unadoptable-file"]`).Each(func(_ int, s *goquery.Selection) {
		f, _ := s.Attr("data-file")
		got[f] = s.Find(`[data-testid="unadoptable-reason"]`).Text()
	})
	want := map[string]string{
		"store_1.db": "invalid name (use a-z, 0-9 and -, not - first or last)",
		"x.db":       "not a SQLite database",
		"y.db":       "a symbolic link (refused)",
	}
	if len(got) != len(want) {
		t.Errorf("the notice lists %q, want %q", got, want)
	}
	for f, r := range want {
		if got[f] != r {
			t.Errorf("%s: the notice says %q, want %q", f, got[f], r)
		}
	}
	if title := doc.Find(`#unadoptable-title`).Text(); !strings.Contains(title, "3 files") {
		t.Errorf("notice title %q", title)
	}
	if c.tenantStatus("dropped") != "ready" {
		t.Errorf("dropped.db was not adopted: %s", c.tenantStatus("dropped"))
	}
	// Viewers see it too: they are the ones asking where a tenant went.
	v := e.login("viewer@example.com")
	if n := v.doc(v.get("/tenants")).Find(`[data-testid="unadoptable-file"]`).Length(); n != 3 {
		t.Errorf("a viewer sees %d unadoptable files, want 3", n)
	}
}

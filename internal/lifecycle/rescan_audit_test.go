package lifecycle_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
)

// TestRescanAuditedForPeople: a rescan a person asked for is audited as
// theirs with what it found; the background's (actor "") is not.
func TestRescanAuditedForPeople(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	audits := func() []string {
		es, err := e.db.AuditLog(ctx, central.AuditFilter{Action: "tenant.rescan", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range es {
			out = append(out, a.Actor+" "+a.Outcome+" "+a.Detail)
		}
		return out
	}
	if _, err := e.life.Rescan(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if got := audits(); len(got) != 0 {
		t.Fatalf("a background rescan was audited: %q", got)
	}
	if _, err := e.p.Create(ctx, "store-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.life.Rescan(ctx, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	if got := audits(); len(got) != 1 || got[0] != "admin@example.com ok 1 adopted, 0 missing, 0 back" {
		t.Fatalf("a person's rescan audited as %q", got)
	}
	// A platform that cannot list is a failed rescan, audited too.
	if err := os.RemoveAll(filepath.Join(e.dir, "tenants")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "tenants"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.life.Rescan(ctx, "admin@example.com"); err == nil {
		t.Skip("the platform lists a file as an empty fleet")
	}
	if got := audits(); len(got) != 2 || got[0] != "admin@example.com error " {
		t.Fatalf("a failed rescan audited as %q", got)
	}
}

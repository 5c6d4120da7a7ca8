package collect_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
)

// TestSubmitRefusalsAudited: the collector audits the collections it
// refuses as their actor's, whichever front asked; the schedule's are
// not (it tries again at its next tick), and a queued collection is left
// to its job to audit.
func TestSubmitRefusalsAudited(t *testing.T) {
	f := newFleet(t, 1, 1, collect.Options{})
	ctx := context.Background()
	count := func() int {
		es, err := f.db.AuditLog(ctx, central.AuditFilter{Action: collect.JobKind, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	if _, _, err := f.c.SubmitRange(ctx, f.jobs, "a@example.com", "api", "2026-11-10", "2026-11-01"); err == nil {
		t.Fatal("a backwards range was queued")
	}
	es, err := f.db.AuditLog(ctx, central.AuditFilter{Action: collect.JobKind, Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("no audit entry for the refused range (%v)", err)
	}
	if a := es[0]; a.Actor != "a@example.com" || a.Outcome != "error" || a.Detail != "2026-11-10 to 2026-11-01" || !strings.Contains(a.Error, "before it starts") {
		t.Errorf("refused range audited as %+v", a)
	}
	day := time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)
	if _, _, err := f.c.Submit(ctx, f.jobs, collect.Spec{From: day, To: day, Trigger: "manual", Actor: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("a queued collection was audited at once: %d entries", n)
	}
	// One is queued: a second is a conflict, audited unless the schedule's.
	if _, _, err := f.c.Submit(ctx, f.jobs, collect.Spec{From: day, To: day, Trigger: "cli", Actor: "cli"}); err == nil {
		t.Fatal("a second collection was queued")
	}
	if n := count(); n != 2 {
		t.Errorf("the refused second collection: %d entries, want 2", n)
	}
	if _, _, err := f.c.Submit(ctx, f.jobs, collect.Spec{From: day, To: day, Trigger: "schedule", Actor: "schedule"}); err == nil {
		t.Fatal("a scheduled collection was queued beside another")
	}
	if n := count(); n != 2 {
		t.Errorf("the schedule's refusal was audited: %d entries", n)
	}
}

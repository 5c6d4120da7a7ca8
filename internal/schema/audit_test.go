package schema_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/schema"
)

func lastAudit(t *testing.T, db *central.DB, action string) fleet.AuditEntry {
	t.Helper()
	es, err := db.AuditLog(context.Background(), central.AuditFilter{Action: action, Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("no %s audit entry (%v)", action, err)
	}
	return es[0]
}

// TestRolloutRefusalsAudited: the service audits what it refuses, as the
// actor's, whichever front asked: a request it cannot read, a spec it
// refuses, a stop of a finished rollout; and the stop it accepts.
func TestRolloutRefusalsAudited(t *testing.T) {
	e := newFleet(t, 2, schema.Embedded())
	ctx := context.Background()
	if _, _, err := e.ro.Start(ctx, e.runner, "a@example.com", "api", schema.Request{Mode: schema.ModeFull}); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Fatalf("an unconfirmed rollout: %v", err)
	}
	if a := lastAudit(t, e.db, "schema.rollout.start"); a.Actor != "a@example.com" || a.Outcome != "error" || a.Detail != "mode full" ||
		!strings.Contains(a.Error, schema.ConfirmWord) {
		t.Errorf("unconfirmed rollout audited as %+v", a)
	}
	if _, _, err := e.ro.Submit(ctx, e.runner, schema.Spec{Canary: -1, Actor: "b@example.com"}); err == nil {
		t.Fatal("a canary of -1 was queued")
	}
	if a := lastAudit(t, e.db, "schema.rollout.start"); a.Actor != "b@example.com" || a.Outcome != "error" || a.Detail != "mode canary" {
		t.Errorf("refused spec audited as %+v", a)
	}
	run, _, err := e.ro.Start(ctx, e.runner, "a@example.com", "api", schema.Request{Mode: schema.ModeDryRun})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ro.Stop(ctx, "c@example.com", run.ID); err != nil {
		t.Fatal(err)
	}
	if a := lastAudit(t, e.db, "schema.rollout.stop"); a.Actor != "c@example.com" || a.Outcome != "ok" || !strings.HasPrefix(a.Detail, "rollout ") {
		t.Errorf("stop audited as %+v", a)
	}
	if err := e.runner.RunPending(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ro.Stop(ctx, "c@example.com", run.ID); fleet.ErrorCode(err) != fleet.ECONFLICT {
		t.Fatalf("stop of a finished rollout: %v", err)
	}
	if a := lastAudit(t, e.db, "schema.rollout.stop"); a.Outcome != "error" || !strings.Contains(a.Error, "already finished") {
		t.Errorf("refused stop audited as %+v", a)
	}
}

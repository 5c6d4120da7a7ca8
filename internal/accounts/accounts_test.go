package accounts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tenantry/tenantry/internal/accounts"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

func init() { central.SetBcryptCost(4) }

const password = "correct horse battery"

// TestChangesAuditedAsActor: each change and each refused change is
// audited as the actor's, the user it concerns first in the detail; a
// demotion or a disable waits for confirmation, unaudited.
func TestChangesAuditedAsActor(t *testing.T) {
	ctx := context.Background()
	db, err := central.Open(ctx, "file:"+t.TempDir()+"/central.db", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := &accounts.Service{DB: db}
	last := func(action string) fleet.AuditEntry {
		t.Helper()
		es, err := db.AuditLog(ctx, central.AuditFilter{Action: action, Limit: 1})
		if err != nil || len(es) != 1 {
			t.Fatalf("no %s audit entry (%v)", action, err)
		}
		return es[0]
	}
	count := func() int {
		es, err := db.AuditLog(ctx, central.AuditFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}

	if _, err := s.Add(ctx, "root@example.com", "a@example.com", password, "owner"); err == nil {
		t.Fatal("a user with an unknown role was added")
	}
	if a := last("user.add"); a.Actor != "root@example.com" || a.Outcome != "error" || a.Detail != "a@example.com: as owner" {
		t.Errorf("refused add audited as %+v", a)
	}
	admin, err := s.Add(ctx, "root@example.com", "a@example.com", password, fleet.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Add(ctx, "root@example.com", "b@example.com", password, fleet.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetRole(ctx, "a@example.com", admin.ID, fleet.RoleViewer, true); fleet.ErrorCode(err) != fleet.EFORBIDDEN {
		t.Fatalf("self-demotion: %v", err)
	}
	if a := last("user.role"); a.Actor != "a@example.com" || a.Outcome != "error" || a.Detail != "a@example.com: admin → viewer" {
		t.Errorf("refused self-demotion audited as %+v", a)
	}
	n := count()
	if _, err := s.SetRole(ctx, "a@example.com", other.ID, fleet.RoleViewer, false); !errors.Is(err, accounts.ErrUnconfirmed) {
		t.Fatalf("unconfirmed demotion: %v", err)
	}
	if _, _, err := s.Disable(ctx, "a@example.com", other.ID, false); !errors.Is(err, accounts.ErrUnconfirmed) {
		t.Fatalf("unconfirmed disable: %v", err)
	}
	if count() != n {
		t.Error("a question was audited")
	}
	if _, err := s.SetRole(ctx, "a@example.com", other.ID, fleet.RoleViewer, true); err != nil {
		t.Fatal(err)
	}
	if a := last("user.role"); a.Outcome != "ok" || a.Detail != "b@example.com: admin → viewer" {
		t.Errorf("demotion audited as %+v", a)
	}
	if _, _, err := s.Disable(ctx, "a@example.com", admin.ID, true); fleet.ErrorCode(err) != fleet.EFORBIDDEN {
		t.Fatalf("self-disable: %v", err)
	}
	if _, ended, err := s.Disable(ctx, "a@example.com", other.ID, true); err != nil || ended != 0 {
		t.Fatalf("disable: %d %v", ended, err)
	}
	if a := last("user.disable"); a.Outcome != "ok" || a.Detail != "b@example.com: 0 sessions ended" {
		t.Errorf("disable audited as %+v", a)
	}
	if _, err := s.Enable(ctx, "a@example.com", other.ID); err != nil {
		t.Fatal(err)
	}
	if a := last("user.enable"); a.Outcome != "ok" || a.Detail != "b@example.com" {
		t.Errorf("enable audited as %+v", a)
	}
	if _, _, err := s.SetPassword(ctx, "a@example.com", other.ID, "short"); err == nil {
		t.Fatal("a short password was set")
	}
	if a := last("user.password"); a.Outcome != "error" || a.Detail != "b@example.com: reset" {
		t.Errorf("refused reset audited as %+v", a)
	}
}

package client_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/fleet"
)

// TestAPIClientSnapshots drives snapshot runs, the listings (the fleet's
// a page of one at a time), a rollback, the drill and the status through
// the typed client, and gets the API's refusals as fleet errors.
func TestAPIClientSnapshots(t *testing.T) {
	c := newConsoleWith(t, true)
	ctx := context.Background()
	for _, n := range []string{"acme", "beta", "gamma"} {
		o, err := c.client.CreateTenant(ctx, n, "", time.Time{}, "", api.MaxWait)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.client.Settle(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	run, err := c.client.TakeSnapshots(ctx, "")
	if err != nil || run.State != fleet.RunSucceeded || run.Tenants != 3 || run.Snapshotted+run.Unchanged != 3 || run.Errors == nil {
		t.Fatalf("fleet run %+v, %v", run, err)
	}
	if one, err := c.client.TakeSnapshots(ctx, "acme"); err != nil || one.Tenant != "acme" || one.Tenants != 1 {
		t.Fatalf("acme's run %+v, %v", one, err)
	}
	if _, err := c.client.TakeSnapshots(ctx, "nope"); fleet.ErrorCode(err) != fleet.ENOTFOUND {
		t.Fatalf("a run of an unknown tenant: %v", err)
	}
	if got, err := c.client.SnapshotRun(ctx, run.ID); err != nil || got.ID != run.ID || got.Tenants != 3 {
		t.Fatalf("SnapshotRun = %+v, %v", got, err)
	}

	newest, err := c.client.NewestSnapshots(ctx, 1)
	if err != nil || len(newest) != 3 || newest[0].Tenant != "acme" || newest[1].Tenant != "beta" || newest[2].Tenant != "gamma" {
		t.Fatalf("newest, a page of one at a time: %+v, %v", newest, err)
	}
	snaps, err := c.client.TenantSnapshots(ctx, "acme", time.Time{}, 0)
	if err != nil || len(snaps) == 0 || !snaps[0].TakenAt.Equal(newest[0].TakenAt) {
		t.Fatalf("acme's snapshots %+v, %v", snaps, err)
	}
	oldest := snaps[len(snaps)-1]
	if at, err := c.client.TenantSnapshots(ctx, "acme", oldest.TakenAt, 1); err != nil || len(at) != 1 || at[0].ID != oldest.ID {
		t.Fatalf("acme's snapshot at %s: %+v, %v", oldest.TakenAt, at, err)
	}
	if _, err := c.client.TenantSnapshots(ctx, "acme", oldest.TakenAt.Add(-time.Second), 1); fleet.ErrorCode(err) != fleet.ENOTFOUND ||
		!strings.Contains(err.Error(), "the oldest is from") {
		t.Fatalf("before the oldest: %v", err)
	}

	o, err := c.client.RollbackTenant(ctx, "acme", oldest.TakenAt, api.MaxWait)
	if err != nil {
		t.Fatal(err)
	}
	if tn, err := c.client.Settle(ctx, o); err != nil || tn.Status != fleet.StatusReady {
		t.Fatalf("rolled back %+v, %v", tn, err)
	}
	if _, err := c.client.RollbackTenant(ctx, "acme", time.Now().Add(time.Hour), 0); fleet.ErrorCode(err) != fleet.EINVALID ||
		!strings.Contains(err.Error(), "future") {
		t.Fatalf("a rollback to the future: %v", err)
	}

	rep, err := c.client.VerifySnapshots(ctx, "", 0)
	if err != nil || len(rep.Drills) != 3 || rep.Failed != 0 {
		t.Fatalf("drill %+v, %v", rep, err)
	}
	if _, err := c.client.VerifySnapshots(ctx, "", -1); fleet.ErrorCode(err) != fleet.EINVALID {
		t.Fatalf("a drill of -1: %v", err)
	}
	st, err := c.client.Backups(ctx, 1)
	if err != nil || !st.Enabled || len(st.Runs) != 1 || st.Totals == nil || st.Totals.Snapshots < 3 {
		t.Fatalf("status %+v, %v", st, err)
	}
}

package central_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/central/centraltest"
	"github.com/tenantry/tenantry/internal/fleet"
)

func TestInsertJobAndList(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	_, err := db.Job(ctx, 1)
	wantCode(t, err, fleet.ENOTFOUND)
	var ids []int64
	for _, tenant := range []string{"a", "b", "a", ""} {
		j := &fleet.Job{Kind: fleet.JobCreate, Tenant: tenant, CreatedBy: "test"}
		id, err := db.InsertJob(ctx, j)
		must(t, err)
		if j.ID != id || j.State != fleet.JobQueued || j.Args != "{}" {
			t.Fatalf("inserted %+v", j)
		}
		ids = append(ids, id)
	}
	got, err := db.Job(ctx, ids[0])
	must(t, err)
	if got.State != fleet.JobQueued || got.Step != "Queued" || got.Attempts != 0 || got.Tenant != "a" || got.CreatedBy != "test" {
		t.Errorf("stored job %+v", got)
	}
	for _, c := range []struct {
		f    central.JobFilter
		want []int64
	}{
		{central.JobFilter{}, []int64{ids[3], ids[2], ids[1], ids[0]}},
		{central.JobFilter{Tenant: "a"}, []int64{ids[2], ids[0]}},
		{central.JobFilter{Limit: 2}, []int64{ids[3], ids[2]}},
		{central.JobFilter{Tenant: "nobody"}, nil},
	} {
		js, err := db.Jobs(ctx, c.f)
		must(t, err)
		var got []int64
		for _, j := range js {
			got = append(got, j.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Jobs(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
}

// A job is claimed when queued, or running under a lease that lapsed or
// whose owner is known dead; never twice at once.
func TestClaimJob(t *testing.T) {
	const lease = time.Minute
	for _, c := range []struct {
		name     string
		before   func(db *central.DB, clk *centraltest.Clock, id int64) // the job's history before runner "b" asks
		stale    func(owner string) bool
		claimed  bool
		attempts int
	}{
		{"queued", func(*central.DB, *centraltest.Clock, int64) {}, nil, true, 1},
		{"held", func(db *central.DB, clk *centraltest.Clock, id int64) { claim(t, db, id, "a", lease) }, nil, false, 1},
		{"held until this very moment", func(db *central.DB, clk *centraltest.Clock, id int64) {
			claim(t, db, id, "a", lease)
			clk.Add(lease)
		}, nil, false, 1},
		{"lease lapsed", func(db *central.DB, clk *centraltest.Clock, id int64) {
			claim(t, db, id, "a", lease)
			clk.Add(lease + time.Millisecond)
		}, nil, true, 2},
		{"owner dead", func(db *central.DB, clk *centraltest.Clock, id int64) { claim(t, db, id, "a", lease) },
			func(owner string) bool { return owner == "a" }, true, 2},
		{"finished", func(db *central.DB, clk *centraltest.Clock, id int64) {
			must(t, db.FinishJob(context.Background(), id, fleet.JobSucceeded, "Done", ""))
		}, nil, false, 0},
		{"released", func(db *central.DB, clk *centraltest.Clock, id int64) {
			claim(t, db, id, "a", lease)
			must(t, db.ReleaseJob(context.Background(), id, "a", "Stopped for a restart"))
		}, nil, true, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, clk := openDB(t)
			ctx := context.Background()
			id, err := db.InsertJob(ctx, &fleet.Job{Kind: fleet.JobCreate})
			must(t, err)
			c.before(db, clk, id)
			j, err := db.ClaimJob(ctx, id, "b", lease, c.stale)
			must(t, err)
			if (j != nil) != c.claimed {
				t.Fatalf("claimed %+v, want claimed %t", j, c.claimed)
			}
			got, err := db.Job(ctx, id)
			must(t, err)
			if got.Attempts != c.attempts {
				t.Errorf("%d attempts, want %d", got.Attempts, c.attempts)
			}
			if c.claimed {
				if j.State != fleet.JobRunning || j.StartedAt.IsZero() {
					t.Errorf("claimed job %+v", j)
				}
				must(t, db.RenewLease(ctx, id, "b", lease)) // b holds it now
				wantCode(t, db.RenewLease(ctx, id, "a", lease), fleet.ECONFLICT)
			}
		})
	}
	db, _ := openDB(t)
	_, err := db.ClaimJob(context.Background(), 99, "b", lease, nil)
	wantCode(t, err, fleet.ENOTFOUND)
}

func claim(t *testing.T, db *central.DB, id int64, owner string, lease time.Duration) {
	t.Helper()
	j, err := db.ClaimJob(context.Background(), id, owner, lease, nil)
	if err != nil || j == nil {
		t.Fatalf("%s claims job %d: %v, %v", owner, id, j, err)
	}
}

func TestLeaseRenewFinishRelease(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	id, err := db.InsertJob(ctx, &fleet.Job{Kind: fleet.JobCreate})
	must(t, err)
	claim(t, db, id, "a", time.Minute)
	// Renewed before it lapses, the lease holds against another runner.
	clk.Add(50 * time.Second)
	must(t, db.RenewLease(ctx, id, "a", time.Minute))
	clk.Add(50 * time.Second)
	if j, err := db.ClaimJob(ctx, id, "b", time.Minute, nil); j != nil || err != nil {
		t.Fatalf("a renewed lease was claimed: %+v, %v", j, err)
	}
	must(t, db.JobProgress(ctx, id, "Copying", 3, 10))
	if j, _ := db.Job(ctx, id); j.Step != "Copying" || j.Done != 3 || j.Total != 10 {
		t.Errorf("progress %+v", j)
	}
	// Released by another owner: nothing happens.
	must(t, db.ReleaseJob(ctx, id, "b", "x"))
	if j, _ := db.Job(ctx, id); j.State != fleet.JobRunning {
		t.Fatalf("released by a runner that does not hold it: %+v", j)
	}
	// Released and claimed again and again: the attempts stay at two,
	// so the resumed attempt knows it resumes, and a job stopped by
	// every deploy never runs out of them.
	for range 3 {
		must(t, db.ReleaseJob(ctx, id, "a", "Stopped"))
		if j, _ := db.Job(ctx, id); j.State != fleet.JobQueued || j.Step != "Stopped" {
			t.Fatalf("released job %+v", j)
		}
		claim(t, db, id, "a", time.Minute)
	}
	if j, _ := db.Job(ctx, id); j.Attempts != 2 {
		t.Errorf("%d attempts after releases, want 2", j.Attempts)
	}
	must(t, db.FinishJob(ctx, id, fleet.JobFailed, "Failed", "disk full"))
	j, err := db.Job(ctx, id)
	must(t, err)
	if j.State != fleet.JobFailed || j.Error != "disk full" || !j.FinishedAt.Equal(clk.Now()) || !j.Finished() {
		t.Errorf("finished job %+v", j)
	}
	wantCode(t, db.RenewLease(ctx, id, "a", time.Minute), fleet.ECONFLICT)
	if ids, _, err := db.ClaimableJobs(ctx, 10); err != nil || len(ids) != 0 {
		t.Errorf("claimable after the finish: %v, %v", ids, err)
	}
}

func TestClaimableJobs(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	var ids []int64
	for range 4 {
		id, err := db.InsertJob(ctx, &fleet.Job{Kind: fleet.JobCreate})
		must(t, err)
		ids = append(ids, id)
	}
	claim(t, db, ids[1], "a", time.Minute)
	must(t, db.FinishJob(ctx, ids[2], fleet.JobSucceeded, "Done", ""))
	got, owners, err := db.ClaimableJobs(ctx, 10)
	must(t, err)
	if !slices.Equal(got, []int64{ids[0], ids[1], ids[3]}) || !slices.Equal(owners, []string{"", "a", ""}) {
		t.Errorf("claimable %v owned by %q", got, owners)
	}
	if got, _, _ := db.ClaimableJobs(ctx, 1); !slices.Equal(got, ids[:1]) {
		t.Errorf("the first claimable: %v", got)
	}
}

// With an idempotency key, the claim, its job and the key are one
// transaction: a second request with the key claims nothing.
func TestClaimTenantJobOnce(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	once := &central.Once{Actor: "api:ci", Key: "k1", Hash: "h1"}
	claimName := func(name string) (*fleet.Job, error) {
		j := &fleet.Job{Kind: fleet.JobCreate, Tenant: name}
		return j, db.ClaimTenantJob(ctx, &fleet.Tenant{Name: name, Platform: "local", Status: fleet.StatusCreating, CreatedAt: start}, j, once)
	}
	first, err := claimName("shop")
	must(t, err)
	if id, err := db.OnceJob(ctx, *once); err != nil || id != first.ID {
		t.Fatalf("key bound to job %d, %v; want %d", id, err, first.ID)
	}
	jobs := count(t, db, `SELECT count(*) FROM jobs`)
	if _, err := claimName("other"); !errors.Is(err, central.ErrOnceTaken) {
		t.Fatalf("second claim with the key: %v, want ErrOnceTaken", err)
	}
	if _, err := db.Tenant(ctx, "other"); fleet.ErrorCode(err) != fleet.ENOTFOUND {
		t.Errorf("the refused claim registered its tenant: %v", err)
	}
	if n := count(t, db, `SELECT count(*) FROM jobs`); n != jobs {
		t.Errorf("the refused claim queued %d jobs", n-jobs)
	}
	// A claim that fails for its name leaves the key free.
	once = &central.Once{Actor: "api:ci", Key: "k2", Hash: "h2"}
	_, err = claimName("shop")
	wantCode(t, err, fleet.ECONFLICT)
	if id, err := db.OnceJob(ctx, *once); err != nil || id != 0 {
		t.Errorf("a refused claim bound its key to job %d, %v", id, err)
	}
	// An expired key may be used again.
	clk.Add(central.IdempotencyTTL)
	once = &central.Once{Actor: "api:ci", Key: "k1", Hash: "h3"}
	second, err := claimName("other")
	must(t, err)
	if id, err := db.OnceJob(ctx, *once); err != nil || id != second.ID {
		t.Errorf("reused key bound to job %d, %v; want %d", id, err, second.ID)
	}
}

package collect_test

import (
	"context"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
)

func TestParseShard(t *testing.T) {
	for in, want := range map[string]string{"": "", "1/1": "", "1/4": "1/4", " 4/4 ": "4/4", "1024/1024": "1024/1024"} {
		s, err := collect.ParseShard(in)
		if err != nil || s.String() != want {
			t.Errorf("ParseShard(%q) = %q, %v; want %q", in, s, err, want)
		}
	}
	for _, in := range []string{"0/4", "5/4", "4", "1/0", "-1/2", "a/b", "1/1025", "1/2/3", "1/ 2", "/"} {
		if _, err := collect.ParseShard(in); fleet.ErrorCode(err) != fleet.EINVALID {
			t.Errorf("ParseShard(%q): %v, want invalid", in, err)
		}
	}
}

// TestShardsCoverTheFleetOnce: the shards of n together collect every
// tenant exactly once, and leave the table (and its rollups) an unsharded
// run leaves.
func TestShardsCoverTheFleetOnce(t *testing.T) {
	f := newFleet(t, 15, 6, collect.Options{BatchSize: 4})
	ctx := context.Background()
	from, to := f.end.AddDate(0, 0, -4), f.end
	seen := map[string]int{}
	var sum int64
	for i := 1; i <= 3; i++ {
		s, err := f.c.Run(ctx, collect.Spec{From: from, To: to, Shard: collect.Shard{I: i, N: 3}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Shard != (collect.Shard{I: i, N: 3}).String() || s.Failed != 0 || s.OK != s.Tenants {
			t.Fatalf("shard %d/3: %+v", i, s)
		}
		if s.Tenants == 0 || s.Tenants == 15 {
			t.Errorf("shard %d/3 has %d of 15 tenants: the hash does not split the fleet", i, s.Tenants)
		}
		sum += s.Tenants
		res, err := f.db.RunResults(ctx, s.ID, false, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			seen[r.Tenant]++
		}
	}
	if sum != 15 || len(seen) != 15 {
		t.Fatalf("shards counted %d tenants and collected %d distinct, want 15", sum, len(seen))
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s collected by %d shards", name, n)
		}
	}
	f.checkAgainstSeed(from, to, nil)
}

// TestShardsQueueSideBySide: shards of the same n run at once (one each),
// but not beside a whole-fleet run or a different split.
func TestShardsQueueSideBySide(t *testing.T) {
	f := newFleet(t, 2, 2, collect.Options{})
	ctx := context.Background()
	spec := func(s string) collect.Spec {
		sh, err := collect.ParseShard(s)
		if err != nil {
			t.Fatal(err)
		}
		return collect.Spec{From: f.end, To: f.end, Actor: "test", Shard: sh}
	}
	r1, _, err := f.c.Submit(ctx, f.jobs, spec("1/2"))
	if err != nil {
		t.Fatal(err)
	}
	if r1.Shard != "1/2" {
		t.Fatalf("run shard %q", r1.Shard)
	}
	if _, _, err := f.c.Submit(ctx, f.jobs, spec("2/2")); err != nil {
		t.Fatalf("the other shard: %v", err)
	}
	for _, s := range []string{"1/2", "", "1/3"} {
		_, _, err := f.c.Submit(ctx, f.jobs, spec(s))
		if fleet.ErrorCode(err) != fleet.ECONFLICT {
			t.Errorf("submit %q beside 1/2 and 2/2: %v, want a conflict", s, err)
		}
	}
	if err := f.jobs.RunPending(ctx); err != nil {
		t.Fatal(err)
	}
	runs, _, err := f.db.CollectRuns(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var tenants int64
	for _, r := range runs {
		if r.State != central.RunSucceeded {
			t.Errorf("run %d (%s): %s %s", r.ID, r.Shard, r.State, r.Error)
		}
		tenants += r.Tenants
	}
	if len(runs) != 2 || tenants != 2 {
		t.Fatalf("%d runs over %d tenants, want 2 over 2", len(runs), tenants)
	}
	// Once they are done, the whole fleet may be collected again.
	if _, _, err := f.c.Submit(ctx, f.jobs, spec("")); err != nil {
		t.Fatal(err)
	}
}

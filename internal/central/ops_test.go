package central_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// The queue counts queued and running jobs per kind; finished ones are
// history.
func TestActiveJobCounts(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	if cs, err := db.ActiveJobCounts(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("an empty queue: %v, %v", cs, err)
	}
	var ids []int64
	for _, kind := range []string{fleet.JobCreate, fleet.JobCreate, fleet.JobCreate, fleet.JobDelete, fleet.JobDelete} {
		id, err := db.InsertJob(ctx, &fleet.Job{Kind: kind})
		must(t, err)
		ids = append(ids, id)
	}
	claim(t, db, ids[0], "a", time.Minute)
	must(t, db.FinishJob(ctx, ids[1], fleet.JobSucceeded, "Done", ""))
	must(t, db.FinishJob(ctx, ids[4], fleet.JobFailed, "Failed", "x"))
	cs, err := db.ActiveJobCounts(ctx)
	must(t, err)
	want := []central.JobCount{
		{Kind: fleet.JobCreate, State: fleet.JobQueued, Count: 1},
		{Kind: fleet.JobCreate, State: fleet.JobRunning, Count: 1},
		{Kind: fleet.JobDelete, State: fleet.JobQueued, Count: 1},
	}
	if !slices.Equal(cs, want) {
		t.Errorf("counts %+v, want %+v", cs, want)
	}
}

// Monitoring reports the newest finished run of each shard of the
// current split: shards of an earlier split do not linger.
func TestLastFinishedRuns(t *testing.T) {
	for _, c := range []struct {
		name   string
		shards []string // runs in order; a "+" suffix leaves one unfinished
		want   []string // the shards reported, newest first
	}{
		{"none", nil, nil},
		{"the whole fleet, twice", []string{"", ""}, []string{""}},
		{"split in two", []string{"", "1/2", "2/2"}, []string{"2/2", "1/2"}},
		{"one shard again", []string{"1/2", "2/2", "1/2"}, []string{"1/2", "2/2"}},
		{"split, then whole again", []string{"1/2", "2/2", ""}, []string{""}},
		{"a split in three under way", []string{"1/2", "2/2", "1/3+"}, []string{"2/2", "1/2"}},
		{"split in three after two", []string{"1/2", "2/2", "1/3", "3/3"}, []string{"3/3", "1/3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, _ := openDB(t)
			ctx := context.Background()
			newest := map[string]int64{}
			for _, s := range c.shards {
				shard, running := s, false
				if l := len(s); l > 0 && s[l-1] == '+' {
					shard, running = s[:l-1], true
				}
				r := &central.CollectRun{From: "2026-03-01", To: "2026-03-01", Shard: shard}
				must(t, db.StartRun(ctx, r))
				if !running {
					must(t, db.FinishRun(ctx, r.ID, 1, ""))
				}
				if !running {
					newest[shard] = r.ID
				}
			}
			runs, err := db.LastFinishedRuns(ctx)
			must(t, err)
			var got []string
			for i, r := range runs {
				got = append(got, r.Shard)
				if r.ID != newest[r.Shard] {
					t.Errorf("shard %q reported by run %d, its newest finished is %d", r.Shard, r.ID, newest[r.Shard])
				}
				if i > 0 && r.ID > runs[i-1].ID {
					t.Errorf("runs not newest first: %d after %d", r.ID, runs[i-1].ID)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("shards %q, want %q", got, c.want)
			}
		})
	}
}

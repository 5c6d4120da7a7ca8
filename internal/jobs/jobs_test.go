package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
)

func openDB(t *testing.T) *central.DB {
	db, err := central.Open(context.Background(), "file:"+filepath.Join(t.TempDir(), "c.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestNoJobRunsTwice: several runners (as several console replicas would)
// race for the same queued jobs; each job runs exactly once.
func TestNoJobRunsTwice(t *testing.T) {
	db := openDB(t)
	var mu sync.Mutex
	runs := map[int64]int{}
	h := jobs.Handler{Run: func(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
		mu.Lock()
		runs[j.ID]++
		mu.Unlock()
		p("working", 1, 1)
		return nil
	}}
	var runners []*jobs.Runner
	for range 3 {
		r := jobs.NewRunner(db, quiet)
		r.Handle("test", h)
		runners = append(runners, r)
	}
	const n = 40
	for range n {
		if _, err := db.InsertJob(t.Context(), &fleet.Job{Kind: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.RunPending(t.Context()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(runs) != n {
		t.Fatalf("%d of %d jobs ran", len(runs), n)
	}
	for id, c := range runs {
		if c != 1 {
			t.Errorf("job %d ran %d times", id, c)
		}
	}
}

func TestFailureAndPanicAreRecorded(t *testing.T) {
	db := openDB(t)
	r := jobs.NewRunner(db, quiet)
	var gaveUp atomic.Int32
	r.Handle("fail", jobs.Handler{
		Run: func(context.Context, *fleet.Job, jobs.Progress) error {
			return fleet.Errorf(fleet.EINVALID, "No such thing.")
		},
		GiveUp: func(context.Context, *fleet.Job, error) { gaveUp.Add(1) },
	})
	r.Handle("panic", jobs.Handler{Run: func(context.Context, *fleet.Job, jobs.Progress) error { panic("boom") }})
	for kind, want := range map[string]string{"fail": "No such thing.", "panic": "boom", "unknown": "no handler"} {
		id, err := db.InsertJob(t.Context(), &fleet.Job{Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		j, err := r.RunNow(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != fleet.JobFailed || !strings.Contains(j.Error, want) || j.FinishedAt.IsZero() {
			t.Errorf("%s: %+v", kind, j)
		}
	}
	if gaveUp.Load() != 1 {
		t.Fatalf("GiveUp ran %d times", gaveUp.Load())
	}
}

// TestShutdownLeavesJobResumable: a job interrupted by a shutdown goes
// back to the queue, neither failed nor waiting out its lease, and the
// next runner resumes it knowing it resumes. Shutdowns never use up its
// attempts: a job stopped by every deploy still runs to its end.
func TestShutdownLeavesJobResumable(t *testing.T) {
	db := openDB(t)
	var attempts []int
	interrupt := func() {
		t.Helper()
		started := make(chan struct{})
		r := jobs.NewRunner(db, quiet)
		r.Handle("slow", jobs.Handler{Run: func(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
			attempts = append(attempts, j.Attempts)
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}})
		ctx, cancel := context.WithCancel(context.Background())
		r.Start(ctx)
		<-started
		cancel()
		r.Wait()
	}
	id, err := db.InsertJob(t.Context(), &fleet.Job{Kind: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	for range jobs.MaxAttempts + 2 {
		interrupt()
		j, _ := db.Job(context.Background(), id)
		if j.State != fleet.JobQueued || !strings.Contains(j.Step, "shutdown") || j.Error != "" {
			t.Fatalf("interrupted job: %+v", j)
		}
	}
	// The first attempt counts (the next must know it resumes), the
	// interrupted ones after it do not.
	if want := []int{1, 2, 2, 2, 2}; !slices.Equal(attempts, want) {
		t.Errorf("attempts seen by the handler: %v, want %v", attempts, want)
	}
	r2 := jobs.NewRunner(db, quiet)
	var resumed bool
	r2.Handle("slow", jobs.Handler{Run: func(_ context.Context, j *fleet.Job, _ jobs.Progress) error {
		resumed = j.Attempts > 1
		return nil
	}})
	if err := r2.RunPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	if j, _ := db.Job(context.Background(), id); j.State != fleet.JobSucceeded || !resumed {
		t.Fatalf("resumed job: %+v (knew it resumed: %v)", j, resumed)
	}
}

// TestLostLeaseLeavesJobToItsNewHolder: a runner that stalled past its
// lease while another runner took the job over stops, and neither fails
// the job nor cleans up after it: the job is the new holder's.
func TestLostLeaseLeavesJobToItsNewHolder(t *testing.T) {
	db := openDB(t)
	var gaveUp atomic.Bool
	r := jobs.NewRunner(db, quiet)
	r.Lease = 150 * time.Millisecond
	started := make(chan struct{})
	r.Handle("test", jobs.Handler{
		Run: func(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
			close(started)
			<-ctx.Done() // the lost lease cancels the work
			return ctx.Err()
		},
		GiveUp: func(context.Context, *fleet.Job, error) { gaveUp.Store(true) },
	})
	id, err := db.InsertJob(t.Context(), &fleet.Job{Kind: "test"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		<-started
		// Another replica claims the job, as it would after a long stall.
		if _, err := db.SQL().Exec(`UPDATE jobs SET lease_owner = 'other-replica' WHERE id = ?`, id); err != nil {
			t.Error(err)
		}
	}()
	done := make(chan *fleet.Job, 1)
	go func() {
		j, err := r.RunNow(context.Background(), id)
		if err != nil {
			t.Error(err)
		}
		done <- j
	}()
	select {
	case j := <-done:
		if j == nil || j.State != fleet.JobRunning || j.Error != "" {
			t.Fatalf("after losing its lease the runner left the job %+v; want it running for its new holder", j)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the runner did not notice it lost the lease")
	}
	if gaveUp.Load() {
		t.Fatal("the runner cleaned up after a job another runner holds")
	}
}

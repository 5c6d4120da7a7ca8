package jobs_test

import (
	"context"
	"database/sql"
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

// lockable is a central database on a local file that waits only briefly
// for locks, with a second connection that can take its write lock, as
// a busy collector or another replica's long transaction would.
type lockable struct {
	*central.DB
	locker *sql.Conn
}

func openLockable(t *testing.T) *lockable {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := central.Open(context.Background(), "file:"+path+
		"?_pragma=busy_timeout(100)&_pragma=journal_mode(WAL)&_txlock=immediate", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &lockable{DB: db, locker: conn}
}

// lock takes the database's write lock (readers go on, writers wait);
// unlock gives it back.
func (l *lockable) lock(t *testing.T) {
	t.Helper()
	if _, err := l.locker.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
}

func (l *lockable) unlock(t *testing.T) {
	t.Helper()
	if _, err := l.locker.ExecContext(context.Background(), `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
}

func (l *lockable) leaseUntil(t *testing.T, id int64) string {
	t.Helper()
	var until sql.NullString
	if err := l.SQL().QueryRow(`SELECT lease_until FROM jobs WHERE id = ?`, id).Scan(&until); err != nil {
		t.Fatal(err)
	}
	return until.String
}

// logHook is a slog handler that hands each record to a function: the
// way a test learns what the runner just went through.
type logHook func(slog.Record)

func (h logHook) Enabled(context.Context, slog.Level) bool { return true }

func (h logHook) Handle(_ context.Context, r slog.Record) error {
	h(r)
	return nil
}
func (h logHook) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logHook) WithGroup(string) slog.Handler      { return h }

// renewalFailures returns a logger that signals each failed lease renewal.
func renewalFailures() (*slog.Logger, <-chan struct{}) {
	failed := make(chan struct{}, 100)
	return slog.New(logHook(func(r slog.Record) {
		if r.Level >= slog.LevelWarn && strings.Contains(r.Message, "lease") {
			select {
			case failed <- struct{}{}:
			default:
			}
		}
	})), failed
}

// await waits for a channel, failing the test if it waits for minutes:
// only a broken runner makes it wait that long.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// TestLeaseRenewalSurvivesABusyDatabase: a lease renewal that fails for a
// passing reason (here the central database locked by another writer for
// longer than its busy timeout) is retried; the job goes on and succeeds
// instead of failing for good and being cleaned up after.
func TestLeaseRenewalSurvivesABusyDatabase(t *testing.T) {
	db := openLockable(t)
	log, failed := renewalFailures()
	r := jobs.NewRunner(db.DB, log)
	r.Lease = 3 * time.Second
	started, finish := make(chan struct{}), make(chan struct{})
	var gaveUp atomic.Bool
	r.Handle("test", jobs.Handler{
		Run: func(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
			close(started)
			select {
			case <-finish:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		GiveUp: func(context.Context, *fleet.Job, error) { gaveUp.Store(true) },
	})
	id, err := db.InsertJob(t.Context(), &fleet.Job{Kind: "test"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *fleet.Job, 1)
	go func() {
		j, err := r.RunNow(context.Background(), id)
		if err != nil {
			t.Error(err)
		}
		done <- j
	}()
	await(t, started, "the job to start")
	db.lock(t)
	before := db.leaseUntil(t, id)
	await(t, failed, "a lease renewal to fail")
	db.unlock(t)
	// The job goes on while the lease is renewed again.
	for db.leaseUntil(t, id) == before {
		select {
		case j := <-done:
			t.Fatalf("a renewal failed once and the job ended %s: %q", j.State, j.Error)
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(finish)
	j := await(t, done, "the job to end")
	if j.State != fleet.JobSucceeded || j.Error != "" || j.Attempts != 1 {
		t.Fatalf("job after a failed renewal: %+v; want it succeeded at its first attempt", j)
	}
	if gaveUp.Load() {
		t.Fatal("a failed renewal made the runner clean up after the job")
	}
}

// TestLapsedLeaseRequeuesTheJob: when the central database refuses every
// renewal until the lease is about to lapse, the work stops, but the job
// is not failed, nor cleaned up after, nor does it use up an attempt: it
// goes back to the queue, and RunNow resumes it once the database
// answers again.
func TestLapsedLeaseRequeuesTheJob(t *testing.T) {
	db := openLockable(t)
	log, _ := renewalFailures()
	r := jobs.NewRunner(db.DB, log)
	r.Lease = 3 * time.Second
	started, stopped, unlocked := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var attempts []int
	var gaveUp atomic.Bool
	r.Handle("test", jobs.Handler{
		Run: func(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
			mu.Lock()
			attempts = append(attempts, j.Attempts)
			first := len(attempts) == 1
			mu.Unlock()
			if !first {
				return nil
			}
			close(started)
			<-ctx.Done() // the runner gives up renewing
			close(stopped)
			<-unlocked
			return ctx.Err()
		},
		GiveUp: func(context.Context, *fleet.Job, error) { gaveUp.Store(true) },
	})
	id, err := db.InsertJob(t.Context(), &fleet.Job{Kind: "test"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *fleet.Job, 1)
	go func() {
		j, err := r.RunNow(context.Background(), id)
		if err != nil {
			t.Error(err)
		}
		done <- j
	}()
	await(t, started, "the job to start")
	db.lock(t)
	await(t, stopped, "the runner to stop the work")
	if j, err := db.Job(t.Context(), id); err != nil || j.State != fleet.JobRunning || !j.FinishedAt.IsZero() {
		t.Fatalf("job while its lease lapses: %+v (%v)", j, err)
	}
	db.unlock(t)
	close(unlocked)
	j := await(t, done, "the job to end")
	if j.State != fleet.JobSucceeded || j.Error != "" {
		t.Fatalf("job after its lease lapsed: %+v; want it resumed and succeeded", j)
	}
	mu.Lock()
	defer mu.Unlock()
	// The resumed attempt knows it resumes; the lapsed one is not counted.
	if want := []int{1, 2}; !slices.Equal(attempts, want) || j.Attempts != 2 {
		t.Errorf("attempts seen by the handler: %v (job says %d), want %v", attempts, j.Attempts, want)
	}
	if gaveUp.Load() {
		t.Fatal("a lapsed lease made the runner clean up after the job")
	}
}

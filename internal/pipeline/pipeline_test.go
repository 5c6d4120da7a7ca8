package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tenantry/tenantry/internal/pipeline"
)

// count is a source of the numbers 0 to n-1 (n < 0: without end).
func count(n int) pipeline.Source[int] {
	return func(ctx context.Context, emit func(int) bool) error {
		for i := 0; n < 0 || i < n; i++ {
			if !emit(i) {
				return nil
			}
		}
		return nil
	}
}

// collect is a sink that keeps every result and the size of each batch.
type collect[T any] struct {
	mu      sync.Mutex
	got     []T
	batches []int
}

func (c *collect[T]) sink(batch []T) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, batch...)
	c.batches = append(c.batches, len(batch))
	return nil
}

func (c *collect[T]) results() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// scrambled finishes item i after (n-i) ms of the bubble's fake clock:
// the last item first.
func scrambled(n int) pipeline.Work[int, int] {
	return func(ctx context.Context, _ int, i int) int {
		time.Sleep(time.Duration(n-i) * time.Millisecond)
		return i
	}
}

func TestOrderedKeepsTheSourcesOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 100
		for _, ordered := range []bool{true, false} {
			c := &collect[int]{}
			err := pipeline.Run(context.Background(), pipeline.Options{Workers: 8, Ordered: ordered}, count(n), scrambled(n), c.sink)
			if err != nil {
				t.Fatal(err)
			}
			got := c.results()
			if len(got) != n {
				t.Fatalf("ordered %v: %d results, want %d", ordered, len(got), n)
			}
			// Unordered, the scrambled work comes back out of order: the
			// ordered run is kept in order by the pipeline, not by luck.
			if sorted := slices.IsSorted(got); sorted != ordered {
				t.Errorf("ordered %v: results sorted %v: %v", ordered, sorted, got)
			}
		}
	})
}

func TestBatchesAndTheLastPartialOne(t *testing.T) {
	for _, tc := range []struct {
		n, batch int
		want     []int
	}{
		{10, 4, []int{4, 4, 2}},
		{8, 4, []int{4, 4}},
		{3, 1, []int{1, 1, 1}},
		{0, 4, nil}, // nothing to hand on: the sink is not called
	} {
		t.Run(fmt.Sprintf("%d by %d", tc.n, tc.batch), func(t *testing.T) {
			c := &collect[int]{}
			if err := pipeline.Run(context.Background(), pipeline.Options{Workers: 3, Batch: tc.batch, Ordered: true}, count(tc.n),
				func(_ context.Context, _ int, i int) int { return i }, c.sink); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.batches, tc.want) {
				t.Errorf("batches %v, want %v", c.batches, tc.want)
			}
			if got := c.results(); len(got) != tc.n || !slices.IsSorted(got) {
				t.Errorf("results %v", got)
			}
		})
	}
}

// TestEveryHandsOnWhileItemsAreSlow: with Every, the sink hears from the
// run while no result arrives, and a batch is handed on before it is full.
func TestEveryHandsOnWhileItemsAreSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		c := &collect[int]{}
		done := make(chan error)
		go func() {
			done <- pipeline.Run(context.Background(), pipeline.Options{Workers: 2, Batch: 100, Every: 100 * time.Millisecond}, count(3),
				func(_ context.Context, _ int, i int) int {
					if i > 0 {
						<-release
					}
					return i
				}, c.sink)
		}()
		time.Sleep(350 * time.Millisecond)
		synctest.Wait()
		c.mu.Lock()
		if !slices.Equal(c.batches, []int{1, 0, 0}) {
			t.Errorf("batches after 350 ms %v, want the first result at 100 ms, then two empty ones", c.batches)
		}
		c.mu.Unlock()
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := c.results(); len(got) != 3 {
			t.Errorf("results %v", got)
		}
	})
}

func TestWorkersBoundWhatRunsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers = 5
		var now, most atomic.Int32
		var busy [workers]atomic.Bool
		err := pipeline.Run(context.Background(), pipeline.Options{Workers: workers}, count(200),
			func(_ context.Context, w int, i int) int {
				if !busy[w].CompareAndSwap(false, true) {
					t.Errorf("worker %d called twice at once", w)
				}
				defer busy[w].Store(false)
				n := now.Add(1)
				defer now.Add(-1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(time.Duration(i%3) * time.Millisecond)
				return i
			}, (&collect[int]{}).sink)
		if err != nil {
			t.Fatal(err)
		}
		if most.Load() != workers {
			t.Errorf("at most %d items at once, want %d", most.Load(), workers)
		}
	})
}

// TestSourceIsReadOnlyAhead: a slow item holds the rest back, and the
// source is read no further than Ahead items past the sink.
func TestSourceIsReadOnlyAhead(t *testing.T) {
	for _, ordered := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			const ahead = 6
			var emitted, handed atomic.Int32
			source := func(ctx context.Context, emit func(int) bool) error {
				for i := 0; ; i++ {
					if !emit(i) {
						return nil
					}
					emitted.Add(1)
				}
			}
			first, sinkFree := make(chan struct{}), make(chan struct{})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() {
				done <- pipeline.Run(ctx, pipeline.Options{Workers: 2, Ahead: ahead, Ordered: ordered}, source,
					func(_ context.Context, _ int, i int) int {
						if i == 0 {
							<-first
						}
						return i
					}, func(batch []int) error {
						handed.Add(int32(len(batch)))
						<-sinkFree
						return nil
					})
			}()
			synctest.Wait()
			// In order, item 0 holds back every other; out of order, the
			// sink does, once it has the first result in hand.
			if n, h := emitted.Load(), handed.Load(); n != ahead+h {
				t.Errorf("ordered %v: %d items emitted, %d handed on, want %d ahead of the sink", ordered, n, h, ahead)
			}
			cancel()
			close(first)
			close(sinkFree)
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("ordered %v: %v", ordered, err)
			}
		})
	}
}

// waitGoroutines waits until no more goroutines run than base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before the run:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

// TestCancelStopsPromptly: once ctx ends, the source is stopped, nothing
// more is started, the items under way are handed on, and every goroutine
// of the run is gone when Run returns.
func TestCancelStopsPromptly(t *testing.T) {
	base := runtime.NumGoroutine()
	const workers = 4
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int32
	sourceDone := make(chan struct{})
	source := func(ctx context.Context, emit func(int) bool) error {
		defer close(sourceDone)
		return count(-1)(ctx, emit)
	}
	all := make(chan struct{})
	c := &collect[int]{}
	done := make(chan error)
	go func() {
		done <- pipeline.Run(ctx, pipeline.Options{Workers: workers}, source, func(ctx context.Context, _ int, i int) int {
			if started.Add(1) == workers {
				close(all)
			}
			<-ctx.Done() // an item that runs until it is interrupted
			return i
		}, c.sink)
	}()
	<-all
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	<-sourceDone
	if n := started.Load(); n != workers {
		t.Errorf("%d items started, want only the %d under way when ctx ended", n, workers)
	}
	if got := c.results(); len(got) != workers {
		t.Errorf("handed on %v, want the %d items under way", got, workers)
	}
	waitGoroutines(t, base)
}

// TestFailedItemsDoNotStopTheRest: a failure is a result like any other.
func TestFailedItemsDoNotStopTheRest(t *testing.T) {
	c := &collect[error]{}
	err := pipeline.Run(context.Background(), pipeline.Options{Workers: 3, Ordered: true}, count(20),
		func(_ context.Context, _ int, i int) error {
			if i%4 == 1 {
				return fmt.Errorf("item %d failed", i)
			}
			return nil
		}, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	got := c.results()
	failed := 0
	for _, e := range got {
		if e != nil {
			failed++
		}
	}
	if len(got) != 20 || failed != 5 || got[1] == nil || got[2] != nil {
		t.Errorf("%d results, %d failed: %v", len(got), failed, got)
	}
}

// TestSinkErrorStopsTheRun: the run ends with the sink's error; the source
// and the work under way are cancelled; the sink hears nothing more.
func TestSinkErrorStopsTheRun(t *testing.T) {
	base := runtime.NumGoroutine()
	full := errors.New("disk full")
	calls := 0
	var interrupted atomic.Int32
	slow := make(chan struct{})
	err := pipeline.Run(context.Background(), pipeline.Options{Workers: 4, Batch: 2}, count(-1),
		func(ctx context.Context, _ int, i int) int {
			if i == 10 {
				close(slow)
			}
			if i >= 10 {
				<-ctx.Done() // runs until the run stops
				interrupted.Add(1)
			}
			return i
		}, func(batch []int) error {
			calls++
			if calls == 3 {
				<-slow // an item is under way
				return full
			}
			return nil
		})
	if !errors.Is(err, full) {
		t.Fatalf("Run: %v, want the sink's error", err)
	}
	if calls != 3 {
		t.Errorf("sink called %d times, want none after its error", calls)
	}
	if interrupted.Load() == 0 {
		t.Error("the work under way was not cancelled")
	}
	waitGoroutines(t, base)
}

// TestSourceErrorFinishesWhatItEmitted: the items emitted before the
// source failed are worked on and handed on, then Run says why it ended.
func TestSourceErrorFinishesWhatItEmitted(t *testing.T) {
	broken := errors.New("registry unreachable")
	c := &collect[int]{}
	err := pipeline.Run(context.Background(), pipeline.Options{Workers: 2}, func(ctx context.Context, emit func(int) bool) error {
		for i := range 7 {
			emit(i)
		}
		return broken
	}, func(_ context.Context, _ int, i int) int { return i }, c.sink)
	if !errors.Is(err, broken) {
		t.Fatalf("Run: %v, want the source's error", err)
	}
	if got := c.results(); len(got) != 7 {
		t.Errorf("handed on %v, want the 7 items emitted", got)
	}
}

// Package pipeline runs work over a stream of items with bounded
// concurrency and bounded memory: a source hands out items, a fixed number
// of workers turn each into a result, and one sink receives the results,
// in the source's order if asked, one at a time or in batches.
//
// It is the shape of every fleet-wide task (a metrics collection, a schema
// rollout, a console query over many tenants): the fleet may be of any
// size, so nothing holds all its items or all its results, and one
// tenant's failure is a result like any other, never the end of the run.
package pipeline

import (
	"context"
	"sync"
	"time"
)

// Options shape a run.
type Options struct {
	// Workers is how many items are worked on at once (at least 1).
	Workers int
	// Ahead bounds the items taken from the source and not yet handed to
	// the sink (default 4 × Workers): the source is never read further
	// ahead, and in order a slow item holds back at most Ahead-1 finished
	// ones.
	Ahead int
	// Ordered hands the results on in the order the source gave the items.
	Ordered bool
	// Batch is the most results the sink receives at once (default 1).
	Batch int
	// Every, if set, also hands on the batch so far this often, even an
	// empty one, so that a sink can report progress while items are slow.
	Every time.Duration
}

func (o Options) withDefaults() Options {
	o.Workers = max(1, o.Workers)
	if o.Ahead <= 0 {
		o.Ahead = 4 * o.Workers
	}
	o.Batch = max(1, o.Batch)
	return o
}

// Source gives the items of a run to emit, one at a time, and returns when
// it has no more. emit waits while Ahead items are on their way; it
// returns false once the run is stopping (ctx ended, or the sink failed),
// and the source should then return.
type Source[In any] func(ctx context.Context, emit func(In) bool) error

// Work turns one item into its result; a failure is a result too. worker
// is the index, from 0 to Workers-1, of the goroutine calling it: state a
// worker keeps from item to item (a connection) can live in a slice
// indexed by it without a lock.
type Work[In, Out any] func(ctx context.Context, worker int, in In) Out

// Sink receives results, at most Batch at once, from one goroutine at a
// time. Run reuses batch after the call returns. An error stops the run.
type Sink[Out any] func(batch []Out) error

// Run feeds source's items to work, Workers at a time, and hands the
// results to sink; it returns once every goroutine it started has ended.
//
// One item's result never stops the others. When the source returns, with
// an error or not, the items it emitted are finished and handed on. When
// ctx ends, the source is stopped and no item is started any more; those
// under way finish (work should watch its ctx) and are still handed on, so
// that work done is not lost: a sink that wants none after ctx ended checks
// ctx itself. When sink fails, the run's context is cancelled and nothing
// more is handed on.
//
// Run returns the sink's error, or else ctx's if it ended (some items may
// then not have been worked on), or else the source's.
//
// A panic in source, work or sink is not recovered.
func Run[In, Out any](ctx context.Context, o Options, source Source[In], work Work[In, Out], sink Sink[Out]) error {
	o = o.withDefaults()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	type item struct {
		seq int
		in  In
	}
	type result struct {
		seq    int
		out    Out
		worked bool // false: dropped, the run was stopping
	}
	// A token is taken for each item emitted and given back when its
	// result leaves (handed on or dropped): at most Ahead items are between
	// the source and the sink, so neither channel ever fills, and in order
	// an item's result is within Ahead of the next one due.
	tokens := make(chan struct{}, o.Ahead)
	items := make(chan item, o.Ahead)
	results := make(chan result, o.Ahead)

	var sourceErr error
	go func() {
		defer close(items)
		seq := 0
		sourceErr = source(runCtx, func(in In) bool {
			select {
			case tokens <- struct{}{}:
			case <-runCtx.Done():
				return false
			}
			items <- item{seq, in}
			seq++
			return true
		})
	}()
	var workers sync.WaitGroup
	for w := range o.Workers {
		workers.Go(func() {
			for it := range items {
				r := result{seq: it.seq}
				if runCtx.Err() == nil {
					r.out, r.worked = work(runCtx, w, it.in), true
				}
				results <- r
			}
		})
	}
	go func() { workers.Wait(); close(results) }()

	var sinkErr error
	batch := make([]Out, 0, o.Batch)
	flush := func() {
		if sinkErr == nil {
			if sinkErr = sink(batch); sinkErr != nil {
				cancel()
			}
		}
		clear(batch) // let go of the results handed on
		batch = batch[:0]
	}
	take := func(r result) {
		<-tokens
		if !r.worked || sinkErr != nil {
			return
		}
		batch = append(batch, r.out)
		if len(batch) == o.Batch {
			flush()
		}
	}
	var waiting window[result]
	if o.Ordered {
		waiting = newWindow[result](o.Ahead)
	}
	var tick <-chan time.Time
	if o.Every > 0 {
		t := time.NewTicker(o.Every)
		defer t.Stop()
		tick = t.C
	}
	for open := true; open; {
		select {
		case r, ok := <-results:
			switch {
			case !ok:
				open = false
			case !o.Ordered:
				take(r)
			default:
				waiting.put(r.seq, r)
				for r, ok := waiting.pop(); ok; r, ok = waiting.pop() {
					take(r)
				}
			}
		case <-tick:
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	switch {
	case sinkErr != nil:
		return sinkErr
	case ctx.Err() != nil:
		return context.Cause(ctx)
	}
	return sourceErr
}

// window holds the results that arrived before the next one due, each at
// its sequence number modulo the window's size: no more than that many
// are ever outstanding.
type window[T any] struct {
	slots  []T
	filled []bool
	next   int // the sequence number due
}

func newWindow[T any](size int) window[T] {
	return window[T]{slots: make([]T, size), filled: make([]bool, size)}
}

func (w *window[T]) put(seq int, v T) {
	i := seq % len(w.slots)
	w.slots[i], w.filled[i] = v, true
}

// pop takes out the result due, if it has arrived.
func (w *window[T]) pop() (v T, ok bool) {
	i := w.next % len(w.slots)
	if !w.filled[i] {
		return v, false
	}
	var zero T
	v, w.slots[i], w.filled[i] = w.slots[i], zero, false
	w.next++
	return v, true
}

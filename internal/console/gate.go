package console

import (
	"errors"
	"math"
	"sync"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// How many console runs may be under way at once. A query holds its slot
// for at most its time limit; a fan-out for as long as it runs. Each may
// take up to its Limits.MaxBytes (a fan-out a little more: its window of
// finished tenants), so these also bound the console's memory.
const (
	MaxQueriesPerUser   = 2
	MaxQueriesPerServer = 8
	MaxFanOutsPerUser   = 2
	MaxFanOutsPerServer = 4
	// fanOutRetry is when to try a fan-out again: they take seconds.
	fanOutRetry = 15 * time.Second
)

// Busy is the error of a run refused because too many are under way: the
// web answers it 429 with Retry-After. Its code is unavailable.
type Busy struct {
	err        error
	RetryAfter time.Duration
}

func (b *Busy) Error() string { return b.err.Error() }
func (b *Busy) Unwrap() error { return b.err }

// RetrySeconds is RetryAfter in whole seconds, at least 1.
func (b *Busy) RetrySeconds() int { return max(1, int(math.Ceil(b.RetryAfter.Seconds()))) }

// AsBusy returns err's *Busy, if it is one.
func AsBusy(err error) (*Busy, bool) {
	var b *Busy
	ok := errors.As(err, &b)
	return b, ok
}

// gate counts the runs of one kind under way, per user and in all. Its
// zero value is ready.
type gate struct {
	mu     sync.Mutex
	total  int
	byUser map[string]int
}

// acquire takes a slot for actor, or says why not.
func (g *gate) acquire(actor string, perUser, perServer int, what string, retry time.Duration) (release func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.byUser[actor] >= perUser:
		return nil, &Busy{RetryAfter: retry, err: fleet.Errorf(fleet.EUNAVAILABLE,
			"You have %d %s running, the most the console runs at once for one person: wait for one to finish and try again.", g.byUser[actor], what)}
	case g.total >= perServer:
		return nil, &Busy{RetryAfter: retry, err: fleet.Errorf(fleet.EUNAVAILABLE,
			"The console is running %d %s, its most at once: try again in a few seconds.", g.total, what)}
	}
	if g.byUser == nil {
		g.byUser = map[string]int{}
	}
	g.total++
	g.byUser[actor]++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.total--
			if g.byUser[actor]--; g.byUser[actor] <= 0 {
				delete(g.byUser, actor)
			}
		})
	}, nil
}

// running returns actor's runs and everyone's.
func (g *gate) running(actor string) (mine, all int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.byUser[actor], g.total
}

// Running returns the queries and fan-outs under way: actor's and
// everyone's.
func (s *Service) Running(actor string) (queries, fanOuts, allQueries, allFanOuts int) {
	queries, allQueries = s.queries.running(actor)
	fanOuts, allFanOuts = s.fanOuts.running(actor)
	return
}

func (s *Service) acquireQuery(actor string) (func(), error) {
	return s.queries.acquire(actor, MaxQueriesPerUser, MaxQueriesPerServer, "queries", s.limits().Timeout)
}

func (s *Service) acquireFanOut(actor string) (func(), error) {
	return s.fanOuts.acquire(actor, MaxFanOutsPerUser, MaxFanOutsPerServer, "queries over many tenants", fanOutRetry)
}

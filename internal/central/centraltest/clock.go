// Package centraltest helps tests of code that holds a central database.
package centraltest

import (
	"sync"
	"time"
)

// Clock is a clock a test moves, for central.WithClock(clock.Now): it
// reads the real time until Set, and after Set(time.Time{}) again. It is
// safe for concurrent use, so a test may move it while a server runs.
type Clock struct {
	mu sync.Mutex
	at time.Time
}

// Now is the time the clock shows.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		return time.Now()
	}
	return c.at
}

// Set stops the clock at t; the zero t makes it follow the real time again.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = t
}

// Add moves the clock on by d from the time it shows.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		c.at = time.Now()
	}
	c.at = c.at.Add(d)
}

package reports

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// What a report shows changes only when a collection changes the metrics,
// which bumps the central database's metrics generation. A result is kept
// under its key and that generation (read on every request, so every
// replica sees a change at once): numbers are never stale, and a report
// costs one small query when nothing changed.

// Cache holds values computed for a metrics generation, by key. The zero
// Cache is ready to use. The service keeps its results in one; the HTML
// front keeps its rendered fragments in another.
type Cache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	flight  singleflight.Group
}

type cacheEntry struct {
	gen int64
	val any
}

// cacheMax bounds a cache; past it, it starts over.
const cacheMax = 4096

// computeTimeout bounds a computation that others may be waiting on.
const computeTimeout = 30 * time.Second

// Cached returns the value under key for the metrics generation gen,
// computing it at most once per generation however many requests ask at
// the same moment. A caller reads the generation once per request, so the
// parts of a page agree. Values are shared: callers must not modify them.
func Cached[T any](c *Cache, ctx context.Context, gen int64, key string, compute func(context.Context) (T, error)) (T, error) {
	var zero T
	if v, ok := c.get(gen, key); ok {
		return v.(T), nil
	}
	v, err, _ := c.flight.Do(strconv.FormatInt(gen, 10)+"\x00"+key, func() (any, error) {
		// A flight that ended between the look-up above and this one
		// has left the value.
		if v, ok := c.get(gen, key); ok {
			return v, nil
		}
		// Others may be waiting on this: one client going away must not
		// fail them.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), computeTimeout)
		defer cancel()
		v, err := compute(ctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.entries == nil || len(c.entries) >= cacheMax {
			c.entries = make(map[string]cacheEntry)
		}
		c.entries[key] = cacheEntry{gen: gen, val: v}
		c.mu.Unlock()
		return v, nil
	})
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}

func (c *Cache) get(gen int64, key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.val, ok && e.gen == gen
}

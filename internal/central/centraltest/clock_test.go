package centraltest_test

import (
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central/centraltest"
)

// TestClock: the real time until set; then still until moved on; the
// zero time hands it back to the real time.
func TestClock(t *testing.T) {
	var c centraltest.Clock
	before := time.Now()
	if now := c.Now(); now.Before(before) || now.After(time.Now()) {
		t.Fatalf("unset clock shows %s, not the real time", now)
	}
	at := time.Date(2025, 7, 15, 22, 30, 0, 0, time.UTC)
	c.Set(at)
	if now := c.Now(); !now.Equal(at) {
		t.Fatalf("set clock shows %s, want %s", now, at)
	}
	c.Add(time.Hour)
	if now := c.Now(); !now.Equal(at.Add(time.Hour)) {
		t.Fatalf("moved clock shows %s, want %s", now, at.Add(time.Hour))
	}
	c.Set(time.Time{})
	before = time.Now()
	if now := c.Now(); now.Before(before) || now.After(time.Now()) {
		t.Fatalf("reset clock shows %s, not the real time", now)
	}
}

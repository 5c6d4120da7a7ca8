package turso

import (
	"net/http"
	"testing"
	"time"
)

func TestExpiration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour:                   "1d",
		time.Hour:                        "60m",
		36 * time.Hour:                   "1d720m",
		90 * time.Second:                 "2m",
		time.Second:                      "1m",
		14*24*time.Hour + 30*time.Minute: "14d30m",
	} {
		if got := expiration(d); got != want {
			t.Errorf("expiration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"0":  0,
		"7":  7 * time.Second,
		"-3": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got, ok := retryAfter(v, now); !ok || got != want {
			t.Errorf("retryAfter(%q) = %v, %v; want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "soon", "1.5"} {
		if _, ok := retryAfter(v, now); ok {
			t.Errorf("retryAfter(%q) accepted", v)
		}
	}
}

func TestBackoffIsCappedFullJitter(t *testing.T) {
	base, most := 100*time.Millisecond, time.Second
	for attempt := 1; attempt <= 40; attempt++ {
		ceil := min(base<<min(attempt-1, 30), most)
		for range 50 {
			if d := backoff(base, most, attempt); d <= 0 || d > ceil {
				t.Fatalf("attempt %d: %v outside (0, %v]", attempt, d, ceil)
			}
		}
	}
}

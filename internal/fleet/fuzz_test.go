package fleet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// The date parsers read what users type into report links, range pickers
// and the collect command. Whatever they are given: no panic, anything
// accepted is exactly its own canonical spelling (so it round-trips into
// links and cache keys), ranges run forwards and stay within the limit,
// and anything refused is an invalid-input error a user can read.

func FuzzParseDay(f *testing.F) {
	for _, s := range []string{"2026-11-20", "2024-02-29", "2025-02-29", "0000-01-01", "9999-12-31", "2026-1-2", "2026-11-20T00:00:00Z",
		" 2026-11-20", "2026-13-01", "2026-11-31", "+2026-11-20", "２０２６-11-20", "2026-11-20\x00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := fleet.ParseDay(s)
		if err != nil {
			checkInvalid(t, err, "not a date")
			return
		}
		if got := d.Format(fleet.DayLayout); got != s {
			t.Fatalf("ParseDay(%q) = %s", s, got)
		}
		if d.Location() != time.UTC || d.Truncate(24*time.Hour) != d {
			t.Fatalf("ParseDay(%q) = %v, not midnight UTC", s, d)
		}
	})
}

func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2026-11", "0000-01", "9999-12", "2026-13", "2026-00", "2026-1", "2026-11-01", "2026/11", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := fleet.ParseMonth(s)
		if err != nil {
			checkInvalid(t, err, "not a month")
			return
		}
		if got := m.Format(fleet.MonthLayout); got != s || m.Day() != 1 || m.Location() != time.UTC || m.Truncate(24*time.Hour) != m {
			t.Fatalf("ParseMonth(%q) = %v", s, m)
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, p := range [][2]string{{"2026-01-01", "2026-01-31"}, {"2026-01-31", "2026-01-01"}, {"2026-01-01", "2026-01-01"},
		{"2023-01-01", "2026-01-03"}, {"2023-01-01", "2026-01-04"}, {"0000-01-01", "9999-12-31"}, {"2026-02-30", "2026-03-01"}, {"", ""}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		f, l, err := fleet.ParseRange(from, to)
		fd, ferr := fleet.ParseDay(from)
		ld, lerr := fleet.ParseDay(to)
		if err != nil {
			checkInvalid(t, err, "")
			// Refused only for a bad day, an inverted range or one too long.
			if ferr == nil && lerr == nil && !ld.Before(fd) && (ld.Unix()-fd.Unix())/86400+1 <= fleet.MaxRangeDays {
				t.Fatalf("ParseRange(%q, %q) refused a good range: %v", from, to, err)
			}
			return
		}
		if ferr != nil || lerr != nil {
			t.Fatalf("ParseRange(%q, %q) accepted a bad day", from, to)
		}
		if !f.Equal(fd) || !l.Equal(ld) || f.Format(fleet.DayLayout) != from || l.Format(fleet.DayLayout) != to {
			t.Fatalf("ParseRange(%q, %q) = %v, %v", from, to, f, l)
		}
		days := fleet.Days(f, l)
		if l.Before(f) || len(days) < 1 || len(days) > fleet.MaxRangeDays || days[0] != from || days[len(days)-1] != to {
			t.Fatalf("ParseRange(%q, %q) accepted %d days", from, to, len(days))
		}
	})
}

// checkInvalid: a refusal is EINVALID with a short, printable message.
func checkInvalid(t *testing.T, err error, says string) {
	t.Helper()
	msg := fleet.ErrorMessage(err)
	if fleet.ErrorCode(err) != fleet.EINVALID || !strings.Contains(msg, says) || len(msg) > 300 {
		t.Fatalf("refusal %q (%s)", msg, fleet.ErrorCode(err))
	}
}

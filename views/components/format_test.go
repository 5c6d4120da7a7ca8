package components

import (
	"reflect"
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0:                      "0 B",
		512:                    "512 B",
		1023:                   "1023 B",
		1024:                   "1.0 KB",
		1536:                   "1.5 KB",
		52_638_515:             "50.2 MB",
		1024*1024 - 1:          "1.0 MB",
		3 * 1024 * 1024 * 1024: "3.0 GB",
		-2048:                  "-2.0 KB",
	} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestInt(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0", 7: "7", 999: "999", 1000: "1,000", 10000: "10,000",
		123456: "123,456", 1234567: "1,234,567", -1234: "-1,234", -999: "-999",
	} {
		if got := Int(n); got != want {
			t.Errorf("Int(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestTime(t *testing.T) {
	if got := Time(time.Time{}); got != "—" {
		t.Errorf("Time(zero) = %q", got)
	}
	tz := time.FixedZone("X", 2*3600)
	if got := Time(time.Date(2026, 11, 20, 17, 4, 59, 0, tz)); got != "2026-11-20 15:04" {
		t.Errorf("Time = %q, want UTC 2026-11-20 15:04", got)
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second:    "just now",
		3 * time.Minute:     "3 min ago",
		5 * time.Hour:       "5 h ago",
		30 * time.Hour:      "1 day ago",
		5 * 24 * time.Hour:  "5 days ago",
		40 * 24 * time.Hour: "2026-10-11 12:00",
	} {
		if got := AgoFrom(now.Add(-d), now); got != want {
			t.Errorf("AgoFrom(-%v) = %q, want %q", d, got, want)
		}
	}
	if got := Ago(time.Time{}); got != "—" {
		t.Errorf("Ago(zero) = %q", got)
	}
}

func TestPageItems(t *testing.T) {
	for _, tc := range []struct {
		page, pages int
		want        []int
	}{
		{1, 1, nil},
		{1, 3, []int{1, 2, 3}},
		{1, 10, []int{1, 2, 3, 0, 10}},
		{5, 10, []int{1, 0, 3, 4, 5, 6, 7, 0, 10}},
		{10, 10, []int{1, 0, 8, 9, 10}},
		{4, 10, []int{1, 2, 3, 4, 5, 6, 0, 10}},
	} {
		if got := pageItems(tc.page, tc.pages); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("pageItems(%d, %d) = %v, want %v", tc.page, tc.pages, got, tc.want)
		}
	}
}

func TestBadgeClassRefusesOddStatuses(t *testing.T) {
	if got := badgeClass("ready"); got != "badge badge-ready" {
		t.Errorf("badgeClass(ready) = %q", got)
	}
	if got := badgeClass(`x" onclick="y`); got != "badge badge-unknown" {
		t.Errorf("badgeClass(odd) = %q", got)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                            "0 ms",
		250 * time.Millisecond:       "250 ms",
		999 * time.Millisecond:       "999 ms",
		999600 * time.Microsecond:    "1.0 s",
		1234 * time.Millisecond:      "1.2 s",
		59 * time.Second:             "59.0 s",
		59960 * time.Millisecond:     "1 min 0 s",
		73 * time.Second:             "1 min 13 s",
		2*time.Hour + 10*time.Minute: "2 h 10 min",
		time.Hour:                    "1 h",
		2 * time.Hour:                "2 h",
		25 * time.Hour:               "25 h",
		48 * time.Hour:               "2 days",
		30 * 24 * time.Hour:          "30 days",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

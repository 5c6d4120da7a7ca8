// Package components holds small view pieces shared by every page: format
// helpers for numbers, money, sizes and times, and templ components such as
// status badges, flash messages, empty states, pagination, progress bars
// and charts.
package components

import (
	"fmt"
	"strconv"
	"time"
)

// Bytes formats a size in base 1024: "0 B", "512 B", "1.5 KB", "50.2 MB".
func Bytes(n int64) string {
	if n < 0 {
		return "-" + Bytes(-n)
	}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KB", "MB", "GB", "TB", "PB"}
	v := float64(n) / 1024
	i := 0
	// Round first so 1023.96 KB shows as "1.0 MB", not "1024.0 KB".
	for v >= 1023.95 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// Int formats n with thousands separators: 10000 becomes "10,000".
func Int(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return sign + s
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	head := len(s) % 3
	if head > 0 {
		out = append(out, s[:head]...)
	}
	for i := head; i < len(s); i += 3 {
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = append(out, s[i:i+3]...)
	}
	return sign + string(out)
}

// Time formats t in UTC as "2006-01-02 15:04", or "—" when t is zero.
func Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// TimeTitle is the full timestamp for a title attribute (hover text), or ""
// when t is zero.
func TimeTitle(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// Ago formats how long ago t was, relative to now: "just now", "3 min ago",
// "5 h ago", "2 days ago"; older than 30 days falls back to Time. Zero is "—".
func Ago(t time.Time) string { return AgoFrom(t, time.Now()) }

// AgoFrom is Ago relative to a given now, for tests.
func AgoFrom(t, now time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := now.Sub(t)
	switch {
	case d < -time.Minute:
		// Clock skew between the platform and us: say so rather than lie.
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	case d < 48*time.Hour:
		return "1 day ago"
	case d < 30*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
	}
	return Time(t)
}

// Plural returns "1 tenant" or "3 tenants" (with thousands separators).
func Plural(n int64, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return Int(n) + " " + plural
}

// badgeClass turns a status into a CSS class, refusing anything that is not
// a plain lowercase word so data can never inject class names.
func badgeClass(status string) string {
	if status == "" || len(status) > 32 {
		return "badge badge-unknown"
	}
	for _, r := range status {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return "badge badge-unknown"
		}
	}
	return "badge badge-" + status
}

// flashClass is the CSS class for a flash kind; unknown kinds look like info.
func flashClass(kind string) string {
	switch kind {
	case "success", "error", "info":
		return "flash flash-" + kind
	}
	return "flash flash-info"
}

// clampPercent keeps a percentage within 0..100.
func clampPercent(p int) int {
	if p < 0 {
		return 0
	}
	if p > 100 {
		return 100
	}
	return p
}

// Duration rounds a duration for people: "250 ms", "1.2 s", "3 min 5 s",
// "2 h 10 min", "1 h", "2 days".
func Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < 999500*time.Microsecond:
		return strconv.FormatInt(int64(d.Round(time.Millisecond)/time.Millisecond), 10) + " ms"
	case d < 59950*time.Millisecond:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour-500*time.Millisecond:
		s := int64(d.Round(time.Second) / time.Second)
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	}
	m := int64(d.Round(time.Minute) / time.Minute)
	switch {
	case m >= 48*60 && m%(24*60) == 0:
		return fmt.Sprintf("%d days", m/(24*60))
	case m%60 == 0:
		return fmt.Sprintf("%d h", m/60)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

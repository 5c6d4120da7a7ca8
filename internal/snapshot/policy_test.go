package snapshot_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/snapshot"
)

func snapAt(tenant string, at time.Time) fleet.Snapshot {
	return fleet.Snapshot{Tenant: tenant, TakenAt: at, Key: tenant + "/" + at.Format(time.RFC3339)}
}

func times(snaps []fleet.Snapshot) []time.Time {
	out := make([]time.Time, len(snaps))
	for i, s := range snaps {
		out[i] = s.TakenAt
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// A year of hourly snapshots, pruned every hour as a schedule would:
// exactly the policy's set survives, the same as pruning once at the end.
func TestPolicyYearOfHourlySnapshots(t *testing.T) {
	p := snapshot.DefaultPolicy
	start := time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	last := start.AddDate(1, 0, 0).Add(5 * time.Hour) // a year and a bit, mid-day
	var all, kept []fleet.Snapshot
	for at := start; !at.After(last); at = at.Add(time.Hour) {
		s := snapAt("store-1", at)
		all = append(all, s)
		kept = append(kept, s)
		var pruned []fleet.Snapshot
		kept, pruned = p.Prune(kept, at.Add(10*time.Minute))
		for _, s := range pruned {
			if at.Sub(s.TakenAt) < p.Every {
				t.Fatalf("at %s: pruned %s, younger than %s", at, s.TakenAt, p.Every)
			}
		}
	}
	now := last.Add(10 * time.Minute)

	// The policy's set, counted out by hand: the last 48 hours; 23:00 of
	// each of the last 30 days (the newest so far, today); the last hour
	// of each of the last 12 months (the newest so far, this month).
	want := map[time.Time]bool{}
	for at := last; now.Sub(at) < 48*time.Hour; at = at.Add(-time.Hour) {
		want[at] = true
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		want[minTime(today.AddDate(0, 0, -i).Add(23*time.Hour), last)] = true
	}
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	for i := range 12 {
		want[minTime(thisMonth.AddDate(0, -i+1, 0).Add(-time.Hour), last)] = true
	}
	var wantTimes []time.Time
	for at := range want {
		wantTimes = append(wantTimes, at)
	}
	slices.SortFunc(wantTimes, func(a, b time.Time) int { return a.Compare(b) })

	if got := times(kept); !slices.Equal(got, wantTimes) {
		t.Fatalf("kept %d snapshots, want %d:\n got %v\nwant %v", len(got), len(wantTimes), got, wantTimes)
	}
	once, pruned := p.Prune(all, now)
	if got := times(once); !slices.Equal(got, wantTimes) {
		t.Fatalf("pruning once kept %d, want %d", len(got), len(wantTimes))
	}
	if len(once)+len(pruned) != len(all) {
		t.Fatalf("%d kept + %d pruned of %d", len(once), len(pruned), len(all))
	}
	// 48 + 30 + 12 less what tiers share: today's newest and 23:00 of
	// the two days before are in the last 48 hours; this month's newest
	// is today's, and last month's (Oct 31) is a day's newest.
	if len(kept) != 48+27+10 {
		t.Fatalf("kept %d", len(kept))
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func TestPolicyEdges(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	day := 24 * time.Hour
	cases := []struct {
		name   string
		policy snapshot.Policy
		snaps  []fleet.Snapshot
		want   []string // kept, in the order given
	}{{
		name:   "a single snapshot older than everything is the newest",
		policy: snapshot.DefaultPolicy,
		snaps:  []fleet.Snapshot{snapAt("a", ago(800*day))},
		want:   []string{"a@-800d"},
	}, {
		name:   "a gap: the day before it keeps its newest alone",
		policy: snapshot.DefaultPolicy,
		snaps: []fleet.Snapshot{
			snapAt("a", ago(100*day+9*time.Hour)), snapAt("a", ago(100*day+5*time.Hour)), snapAt("a", ago(100*day+time.Hour)),
			snapAt("a", ago(40*day)), snapAt("a", ago(3*time.Hour)),
		},
		// -100d1h is the newest of its month (August); -40d (October) too.
		want: []string{"a@-100d1h", "a@-40d", "a@-3h"},
	}, {
		name:   "snapshots in the future are kept, and do not displace the newest",
		policy: snapshot.Policy{},
		snaps:  []fleet.Snapshot{snapAt("a", ago(10*day)), snapAt("a", ago(5*day)), snapAt("a", now.Add(time.Hour)), snapAt("a", now.Add(50*day))},
		want:   []string{"a@-5d", "a@+1h", "a@+50d"},
	}, {
		name:   "each tenant keeps its own newest",
		policy: snapshot.Policy{Every: time.Hour},
		snaps:  []fleet.Snapshot{snapAt("a", ago(3*day)), snapAt("b", ago(2*day)), snapAt("a", ago(4*day)), snapAt("b", ago(30*time.Minute))},
		want:   []string{"a@-3d", "b@-30m"},
	}, {
		name:   "nothing younger than Every is pruned, even without tiers",
		policy: snapshot.Policy{Every: 48 * time.Hour},
		snaps:  []fleet.Snapshot{snapAt("a", ago(47*time.Hour)), snapAt("a", ago(49*time.Hour)), snapAt("a", ago(time.Minute))},
		want:   []string{"a@-1d23h", "a@-1m"},
	}, {
		name:   "the daily tier counts today as its first day",
		policy: snapshot.Policy{Daily: 2},
		snaps: []fleet.Snapshot{
			snapAt("a", ago(11*time.Hour)), // yesterday 23:00
			snapAt("a", ago(12*time.Hour)), // yesterday 22:00
			snapAt("a", ago(35*time.Hour)), // the day before, 23:00
			snapAt("a", ago(2*time.Hour)),  // today 08:00
			snapAt("a", ago(5*time.Hour)),  // today 05:00
		},
		want: []string{"a@-11h", "a@-2h"},
	}, {
		name:   "the monthly tier counts this month as its first",
		policy: snapshot.Policy{Monthly: 2},
		snaps: []fleet.Snapshot{
			snapAt("a", time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC)),
			snapAt("a", time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)),
			snapAt("a", time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)),
			snapAt("a", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)),
		},
		want: []string{"a@-3d22h", "a@-3d10h"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keep, prune := c.policy.Prune(c.snaps, now)
			var got []string
			for _, s := range keep {
				got = append(got, label(s, now))
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("kept %v, want %v", got, c.want)
			}
			if len(keep)+len(prune) != len(c.snaps) {
				t.Fatalf("%d kept + %d pruned of %d", len(keep), len(prune), len(c.snaps))
			}
		})
	}
}

// label names a snapshot by tenant and age, e.g. "a@-3d10h", "a@+1h".
func label(s fleet.Snapshot, now time.Time) string {
	d := s.TakenAt.Sub(now)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	days, rest := d/(24*time.Hour), d%(24*time.Hour)
	out := ""
	if days > 0 {
		out = fmt.Sprintf("%dd", days)
	}
	if rest >= time.Hour {
		out += fmt.Sprintf("%dh", rest/time.Hour)
		rest %= time.Hour
	}
	if rest > 0 || out == "" {
		out += fmt.Sprintf("%dm", rest/time.Minute)
	}
	return s.Tenant + "@" + sign + out
}

func TestPolicyTiesAndCheck(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	at := now.Add(-5 * 24 * time.Hour)
	a, b := snapAt("a", at), snapAt("a", at)
	a.Key, b.Key = "a/1", "a/2"
	for _, order := range [][]fleet.Snapshot{{a, b}, {b, a}} {
		keep, _ := snapshot.Policy{Daily: 30}.Prune(order, now)
		if len(keep) != 1 || keep[0].Key != "a/2" {
			t.Fatalf("tie kept %v", keep)
		}
	}
	for _, p := range []snapshot.Policy{{Every: -time.Hour}, {Daily: -1}, {Monthly: -1}} {
		if fleet.ErrorCode(p.Check()) != fleet.EINVALID {
			t.Errorf("%+v: %v", p, p.Check())
		}
	}
	if err := snapshot.DefaultPolicy.Check(); err != nil {
		t.Fatal(err)
	}
}

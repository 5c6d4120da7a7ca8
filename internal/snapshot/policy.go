package snapshot

import (
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// Policy says which snapshots of a tenant to keep, counted back from now:
// every snapshot younger than Every; then, for each of the last Daily UTC
// days (today included), the day's newest; then, for each of the last
// Monthly UTC months (this one included), the month's newest. Whatever
// the policy, a tenant's newest snapshot is kept, and so is any snapshot
// dated after now (a clock set back): Prune never guesses about those.
//
// The newest of a day, not the oldest, so that a kept snapshot is the
// state the day (or month) ended with, and so that what a policy keeps
// only ever shrinks as time passes: a snapshot pruned now would be
// pruned by any later run too, so pruning every hour or once a month
// keeps the same set.
//
// A zero field keeps nothing of its kind; the zero Policy keeps each
// tenant's newest snapshot alone. DefaultPolicy is the default.
type Policy struct {
	Every   time.Duration // keep everything younger than this
	Daily   int           // days with one snapshot kept each
	Monthly int           // months with one snapshot kept each
}

// DefaultPolicy keeps every snapshot for 48 hours, then one a day for 30
// days, then one a month for 12 months.
var DefaultPolicy = Policy{Every: 48 * time.Hour, Daily: 30, Monthly: 12}

// Check refuses a negative field with a message for people.
func (p Policy) Check() error {
	switch {
	case p.Every < 0:
		return fleet.Errorf(fleet.EINVALID, "Keeping every snapshot for %s makes no sense: give a duration of 0 or more, such as 48h.", p.Every)
	case p.Daily < 0:
		return fleet.Errorf(fleet.EINVALID, "Keeping one snapshot a day for %d days makes no sense: give 0 or more.", p.Daily)
	case p.Monthly < 0:
		return fleet.Errorf(fleet.EINVALID, "Keeping one snapshot a month for %d months makes no sense: give 0 or more.", p.Monthly)
	}
	return nil
}

// Prune splits snapshots of any number of tenants into those the policy
// keeps at now and those it does not, each in the order given. It is a
// pure function of its arguments: the caller removes the pruned files
// and records.
func (p Policy) Prune(snaps []fleet.Snapshot, now time.Time) (keep, prune []fleet.Snapshot) {
	kept := make([]bool, len(snaps))
	byTenant := make(map[string][]int)
	for i, s := range snaps {
		byTenant[s.Tenant] = append(byTenant[s.Tenant], i)
	}
	today, thisMonth := dayNumber(now), monthNumber(now)
	for _, idx := range byTenant {
		newest := -1
		days := make(map[int]int)   // day number -> its newest snapshot
		months := make(map[int]int) // month number -> its newest snapshot
		for _, i := range idx {
			at := snaps[i].TakenAt
			if at.After(now) {
				kept[i] = true
				continue
			}
			if now.Sub(at) < p.Every {
				kept[i] = true
			}
			newest = newer(snaps, newest, i)
			if d := dayNumber(at); today-d < p.Daily {
				pick(snaps, days, d, i)
			}
			if m := monthNumber(at); thisMonth-m < p.Monthly {
				pick(snaps, months, m, i)
			}
		}
		if newest >= 0 {
			kept[newest] = true
		}
		for _, i := range days {
			kept[i] = true
		}
		for _, i := range months {
			kept[i] = true
		}
	}
	for i, s := range snaps {
		if kept[i] {
			keep = append(keep, s)
		} else {
			prune = append(prune, s)
		}
	}
	return keep, prune
}

// pick makes snapshot i the one of period k if it is newer than the
// one there.
func pick(snaps []fleet.Snapshot, period map[int]int, k, i int) {
	if j, ok := period[k]; ok {
		i = newer(snaps, j, i)
	}
	period[k] = i
}

// newer returns whichever of snapshots a and b (indexes; a may be -1 for
// none) was taken later; the greater key breaks a tie, so that the
// choice does not depend on the order given.
func newer(snaps []fleet.Snapshot, a, b int) int {
	if a < 0 {
		return b
	}
	sa, sb := snaps[a], snaps[b]
	if sb.TakenAt.After(sa.TakenAt) || (sb.TakenAt.Equal(sa.TakenAt) && sb.Key > sa.Key) {
		return b
	}
	return a
}

// dayNumber counts UTC days since the Unix epoch.
func dayNumber(t time.Time) int {
	y, m, d := t.UTC().Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// monthNumber counts UTC months since year 0.
func monthNumber(t time.Time) int {
	y, m, _ := t.UTC().Date()
	return y*12 + int(m) - 1
}

package config

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/snapshot"
)

// Snapshots is serve's configuration of fleet snapshots and of the
// central database's history. Fields are set once Validate has checked
// the flags.
type Snapshots struct {
	// Every is how often tenants are snapshotted (0: never on a schedule).
	Every   time.Duration
	Workers int
	Policy  snapshot.Policy
	History central.HistoryPolicy

	keepAll, keepResults, keepAudit string
}

// SnapshotFlags registers serve's snapshot and history flags on fs.
func SnapshotFlags(fs *flag.FlagSet) *Snapshots {
	s := &Snapshots{}
	fs.DurationVar(&s.Every, "snapshot-every", time.Hour, "snapshot every tenant that changed this often (0 = never on a schedule)")
	fs.IntVar(&s.Workers, "snapshot-workers", 2, "tenants snapshotted at once")
	fs.StringVar(&s.keepAll, "snapshot-keep-all", "48h", "keep every snapshot this long (such as 48h or 7d)")
	fs.IntVar(&s.Policy.Daily, "snapshot-keep-daily", snapshot.DefaultPolicy.Daily, "then keep one snapshot a day for this many days")
	fs.IntVar(&s.Policy.Monthly, "snapshot-keep-monthly", snapshot.DefaultPolicy.Monthly, "then keep one snapshot a month for this many months")
	fs.StringVar(&s.keepResults, "keep-results", days(central.DefaultResultsKeep), "keep per-tenant results of collections, rollouts and snapshot runs, and finished jobs, this long")
	fs.StringVar(&s.keepAudit, "keep-audit", days(central.DefaultAuditKeep), "keep the audit log this long")
	return s
}

func days(d time.Duration) string { return strconv.Itoa(int(d/(24*time.Hour))) + "d" }

// Validate checks the flags and fills the policies.
func (s *Snapshots) Validate() error {
	if s.Every < 0 {
		return fmt.Errorf("--snapshot-every must not be negative (0 turns the schedule off)")
	}
	if s.Workers < 1 || s.Workers > 64 {
		return fmt.Errorf("--snapshot-workers must be between 1 and 64")
	}
	var err error
	for _, f := range []struct {
		flag, v string
		dst     *time.Duration
	}{{"--snapshot-keep-all", s.keepAll, &s.Policy.Every}, {"--keep-results", s.keepResults, &s.History.Results}, {"--keep-audit", s.keepAudit, &s.History.Audit}} {
		if *f.dst, err = parseDays(f.v); err != nil {
			return fmt.Errorf("%s %q is not a duration such as 48h or 90d", f.flag, f.v)
		}
	}
	if err := s.Policy.Check(); err != nil {
		return err
	}
	if s.History.Results < central.MinHistoryKeep || s.History.Audit < central.MinHistoryKeep {
		return fmt.Errorf("--keep-results and --keep-audit must be at least %s", central.MinHistoryKeep)
	}
	return nil
}

// parseDays reads a duration that may be written in days ("90d").
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(strings.TrimSpace(v), "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("bad days %q", v)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative")
	}
	return d, err
}

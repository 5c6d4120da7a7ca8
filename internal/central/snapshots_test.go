package central_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/migrations"
)

// sum is a well-formed checksum.
var sum = strings.Repeat("0f", 32)

// snap is a whole snapshot of tenant taken at at, under a key of its own.
func snap(tenant string, at time.Time) *fleet.Snapshot {
	return &fleet.Snapshot{Tenant: tenant, TakenAt: at, Key: tenant + "/" + at.UTC().Format("20060102T150405.000Z") + ".zst",
		Size: 100, RawSize: 400, SHA256: sum, Fingerprint: "fp-" + at.UTC().Format(time.RFC3339Nano)}
}

// record records snapshots of tenant taken at start plus each offset.
func record(t *testing.T, db *central.DB, tenant string, offsets ...time.Duration) []*fleet.Snapshot {
	t.Helper()
	var out []*fleet.Snapshot
	for _, d := range offsets {
		s := snap(tenant, start.Add(d))
		must(t, db.RecordSnapshot(context.Background(), s))
		out = append(out, s)
	}
	return out
}

// snapshotRows is the snapshot records and the totals the triggers keep.
func snapshotRows(t *testing.T, db *central.DB) string {
	t.Helper()
	return fmt.Sprintf("%d rows; totals %d/%d/%d", count(t, db, `SELECT count(*) FROM snapshots`),
		count(t, db, `SELECT snapshots FROM snapshot_totals`), count(t, db, `SELECT size FROM snapshot_totals`),
		count(t, db, `SELECT raw_size FROM snapshot_totals`))
}

func TestRecordSnapshot(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(s *fleet.Snapshot)
		code   string
		msg    string
	}{
		{"whole", func(*fleet.Snapshot) {}, "", ""},
		{"verified and from a run", func(s *fleet.Snapshot) { s.VerifiedAt, s.RunID = start.Add(time.Hour), 7 }, "", ""},
		{"an empty raw database", func(s *fleet.Snapshot) { s.RawSize = 0 }, "", ""},
		{"no tenant", func(s *fleet.Snapshot) { s.Tenant = "" }, fleet.EINVALID, "Tenant name is required."},
		{"a tenant name that is not one", func(s *fleet.Snapshot) { s.Tenant = "Acme" }, fleet.EINVALID, `Tenant name "Acme" is invalid`},
		{"no key", func(s *fleet.Snapshot) { s.Key = " " }, fleet.EINVALID, "needs the key"},
		{"no time", func(s *fleet.Snapshot) { s.TakenAt = time.Time{} }, fleet.EINVALID, "needs the time it was taken"},
		{"an empty file", func(s *fleet.Snapshot) { s.Size = 0 }, fleet.EINVALID, "has no bytes"},
		{"a negative raw size", func(s *fleet.Snapshot) { s.RawSize = -1 }, fleet.EINVALID, "has no bytes"},
		{"a short checksum", func(s *fleet.Snapshot) { s.SHA256 = "0f0f" }, fleet.EINVALID, "not a SHA-256"},
		{"an uppercase checksum", func(s *fleet.Snapshot) { s.SHA256 = strings.ToUpper(sum) }, fleet.EINVALID, "not a SHA-256"},
		{"a checksum that is not hex", func(s *fleet.Snapshot) { s.SHA256 = strings.Repeat("zz", 32) }, fleet.EINVALID, "not a SHA-256"},
		{"a negative run", func(s *fleet.Snapshot) { s.RunID = -1 }, fleet.EINVALID, "names run -1"},
		{"a key recorded already", func(s *fleet.Snapshot) { s.Key = "taken" }, fleet.ECONFLICT, `Snapshot "taken" already exists.`},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, _ := openDB(t)
			ctx := context.Background()
			first := snap("other", start)
			first.Key = "taken"
			must(t, db.RecordSnapshot(ctx, first))
			before := snapshotRows(t, db)
			s := snap("acme", start.Add(1500*time.Microsecond))
			c.change(s)
			err := db.RecordSnapshot(ctx, s)
			wantCode(t, err, c.code)
			if c.code != "" {
				if !strings.Contains(fleet.ErrorMessage(err), c.msg) {
					t.Errorf("refusal %q does not say %q", err, c.msg)
				}
				if after := snapshotRows(t, db); after != before || s.ID != 0 {
					t.Errorf("a refusal wrote: %s, was %s; id %d", after, before, s.ID)
				}
				return
			}
			got, err := db.SnapshotByID(ctx, s.ID)
			must(t, err)
			if !got.TakenAt.Equal(start.Add(time.Millisecond)) || !s.TakenAt.Equal(got.TakenAt) {
				t.Errorf("taken at %s (recorded as %s), want the millisecond %s", got.TakenAt, s.TakenAt, start.Add(time.Millisecond))
			}
			if *got != *s {
				t.Errorf("read back %+v, recorded %+v", *got, *s)
			}
			if after := snapshotRows(t, db); after != fmt.Sprintf("2 rows; totals 2/200/%d", 400+s.RawSize) {
				t.Errorf("after recording: %s", after)
			}
		})
	}
	db, _ := openDB(t)
	_, err := db.SnapshotByID(context.Background(), 42)
	wantCode(t, err, fleet.ENOTFOUND)
}

func TestSnapshotsNewestFirst(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	record(t, db, "acme", 0, 3*time.Hour, time.Hour, 2*time.Hour)
	record(t, db, "beta", 90*time.Minute)
	hours := func(ss []fleet.Snapshot) string {
		var out []string
		for _, s := range ss {
			out = append(out, fmt.Sprintf("%s@%g", s.Tenant, s.TakenAt.Sub(start).Hours()))
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		name   string
		tenant string
		before time.Time
		limit  int
		want   string
		code   string
	}{
		{"every one", "acme", time.Time{}, 0, "acme@3 acme@2 acme@1 acme@0", ""},
		{"the newest two", "acme", time.Time{}, 2, "acme@3 acme@2", ""},
		{"the next page", "acme", start.Add(2 * time.Hour), 2, "acme@1 acme@0", ""},
		{"past the last page", "acme", start, 2, "", ""},
		{"another tenant's", "beta", time.Time{}, 10, "beta@1.5", ""},
		{"a tenant without snapshots", "gamma", time.Time{}, 10, "", ""},
		{"a name that is not one", "../acme", time.Time{}, 10, "", fleet.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := db.Snapshots(ctx, c.tenant, c.before, c.limit)
			wantCode(t, err, c.code)
			if g := hours(got); g != c.want {
				t.Errorf("got %q, want %q", g, c.want)
			}
		})
	}
}

// A restore or a branch at a time starts from the newest snapshot at or
// before it; a time before every snapshot, or a tenant without any, is
// refused in words that say which.
func TestSnapshotAt(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	record(t, db, "acme", 0, time.Hour, 2*time.Hour)
	twin := snap("acme", start.Add(time.Hour)) // taken in the same millisecond: the later record wins
	twin.Key = "twin"
	must(t, db.RecordSnapshot(ctx, twin))
	clk.Set(start.Add(24 * time.Hour))
	for _, c := range []struct {
		name   string
		tenant string
		at     time.Time
		want   string // the snapshot's key
		code   string
		msg    string
	}{
		{"between two", "acme", start.Add(90 * time.Minute), "twin", "", ""},
		{"exactly at one", "acme", start.Add(2 * time.Hour), "acme/20260318T120000.000Z.zst", "", ""},
		{"a moment before one", "acme", start.Add(2*time.Hour - time.Millisecond), "twin", "", ""},
		{"now", "acme", start.Add(24 * time.Hour), "acme/20260318T120000.000Z.zst", "", ""},
		{"at the oldest", "acme", start, "acme/20260318T100000.000Z.zst", "", ""},
		{"before the oldest", "acme", start.Add(-time.Minute), "", fleet.ENOTFOUND,
			"No snapshot of acme is as old as 2026-03-18T09:59:00Z: the oldest is from 2026-03-18T10:00:00Z."},
		{"a tenant without snapshots", "beta", start, "", fleet.ENOTFOUND, "Tenant beta has no snapshot yet."},
		{"in the future", "acme", start.Add(25 * time.Hour), "", fleet.EINVALID,
			"2026-03-19T11:00:00Z is in the future (it is 2026-03-19T10:00:00Z now)"},
		{"no time", "acme", time.Time{}, "", fleet.EINVALID, "No time was given."},
		{"a name that is not one", "", start, "", fleet.EINVALID, "Tenant name is required."},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := db.SnapshotAt(ctx, c.tenant, c.at)
			wantCode(t, err, c.code)
			if c.code != "" {
				if !strings.Contains(fleet.ErrorMessage(err), c.msg) || got != nil {
					t.Errorf("refusal %q (%v) does not say %q", err, got, c.msg)
				}
				return
			}
			if got.Key != c.want {
				t.Errorf("snapshot %q taken %s, want %q", got.Key, got.TakenAt, c.want)
			}
		})
	}
}

// The snapshot job asks a page of tenants at once which snapshot each
// has last: one query per 500 names.
func TestLatestSnapshots(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	var names []string
	for i := range 1100 {
		names = append(names, fmt.Sprintf("t%04d", i))
	}
	record(t, db, "t0001", 0, 2*time.Hour, time.Hour)
	record(t, db, "t0700", time.Hour)
	record(t, db, "t1099", 0)
	record(t, db, "outside", 5*time.Hour)
	for _, c := range []struct {
		name  string
		names []string
		want  string
	}{
		{"every chunk", names, "t0001@2 t0700@1 t1099@0"},
		{"one name", []string{"t0001"}, "t0001@2"},
		{"names without snapshots", []string{"t0002", "nobody"}, ""},
		{"no names", nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := db.LatestSnapshots(ctx, c.names)
			must(t, err)
			var out []string
			for name, s := range got {
				if s.Tenant != name || s.Fingerprint == "" {
					t.Errorf("%s: %+v", name, s)
				}
				out = append(out, fmt.Sprintf("%s@%g", name, s.TakenAt.Sub(start).Hours()))
			}
			slices.Sort(out)
			if g := strings.Join(out, " "); g != c.want {
				t.Errorf("got %q, want %q", g, c.want)
			}
		})
	}
}

func TestSnapshotTenants(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	record(t, db, "b", 0, time.Hour)
	record(t, db, "a", 0)
	record(t, db, "c", time.Hour, 2*time.Hour)
	for _, c := range []struct {
		after string
		limit int
		want  string
	}{
		{"", 10, "a b c"},
		{"", 2, "a b"},
		{"b", 2, "c"},
		{"c", 2, ""},
	} {
		got, err := db.SnapshotTenants(ctx, c.after, c.limit)
		must(t, err)
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("after %q, %d: %q, want %q", c.after, c.limit, g, c.want)
		}
	}
}

// Deleting records is for retention: a tenant's newest snapshot is never
// deleted, and asking for it deletes nothing at all.
func TestDeleteSnapshots(t *testing.T) {
	for _, c := range []struct {
		name string
		ids  func(acme, beta []*fleet.Snapshot) []int64
		want int64
		code string
		left string // acme's and beta's snapshots left, by hour
	}{
		{"old ones", func(a, b []*fleet.Snapshot) []int64 { return []int64{a[0].ID, a[1].ID} }, 2, "", "acme@2 beta@0 beta@1"},
		{"of two tenants", func(a, b []*fleet.Snapshot) []int64 { return []int64{a[1].ID, b[0].ID} }, 2, "", "acme@0 acme@2 beta@1"},
		{"gone already", func(a, b []*fleet.Snapshot) []int64 { return []int64{a[0].ID, 999} }, 1, "", "acme@1 acme@2 beta@0 beta@1"},
		{"none", func(a, b []*fleet.Snapshot) []int64 { return nil }, 0, "", "acme@0 acme@1 acme@2 beta@0 beta@1"},
		{"a newest one", func(a, b []*fleet.Snapshot) []int64 { return []int64{a[0].ID, b[1].ID} }, 0, fleet.ECONFLICT,
			"acme@0 acme@1 acme@2 beta@0 beta@1"},
		{"every one of a tenant", func(a, b []*fleet.Snapshot) []int64 { return []int64{a[0].ID, a[1].ID, a[2].ID} }, 0, fleet.ECONFLICT,
			"acme@0 acme@1 acme@2 beta@0 beta@1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, _ := openDB(t)
			ctx := context.Background()
			acme := record(t, db, "acme", 0, time.Hour, 2*time.Hour)
			beta := record(t, db, "beta", 0, time.Hour)
			before := snapshotRows(t, db)
			n, err := db.DeleteSnapshots(ctx, c.ids(acme, beta)...)
			wantCode(t, err, c.code)
			if n != c.want {
				t.Errorf("deleted %d, want %d", n, c.want)
			}
			var left []string
			for _, tenant := range []string{"acme", "beta"} {
				ss, err := db.Snapshots(ctx, tenant, time.Time{}, 0)
				must(t, err)
				for _, s := range slices.Backward(ss) {
					left = append(left, fmt.Sprintf("%s@%g", tenant, s.TakenAt.Sub(start).Hours()))
				}
			}
			if g := strings.Join(left, " "); g != c.left {
				t.Errorf("left %q, want %q", g, c.left)
			}
			if c.code != "" {
				if !strings.Contains(err.Error(), "is the newest of") {
					t.Errorf("refusal %q does not say why", err)
				}
				if after := snapshotRows(t, db); after != before {
					t.Errorf("a refusal changed %s to %s", before, after)
				}
			} else if got := snapshotRows(t, db); got != fmt.Sprintf("%d rows; totals %d/%d/%d", 5-n, 5-n, 100*(5-n), 400*(5-n)) {
				t.Errorf("after deleting %d: %s", n, got)
			}
		})
	}
}

func TestMarkSnapshotVerified(t *testing.T) {
	for _, c := range []struct {
		name string
		at   time.Time
		want time.Time // zero: the clock's time
		code string
	}{
		{"at a time", start.Add(time.Hour), start.Add(time.Hour), ""},
		{"now", time.Time{}, start.Add(48 * time.Hour), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, clk := openDB(t)
			ctx := context.Background()
			s := record(t, db, "acme", 0)[0]
			clk.Set(start.Add(48 * time.Hour))
			must(t, db.MarkSnapshotVerified(ctx, s.ID, c.at))
			got, err := db.SnapshotByID(ctx, s.ID)
			must(t, err)
			if !got.VerifiedAt.Equal(c.want) {
				t.Errorf("verified at %s, want %s", got.VerifiedAt, c.want)
			}
		})
	}
	db, _ := openDB(t)
	wantCode(t, db.MarkSnapshotVerified(context.Background(), 5, start), fleet.ENOTFOUND)
}

// The orphan sweep asks which of the store's files are recorded.
func TestRecordedSnapshotKeys(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	ss := record(t, db, "acme", 0, time.Hour)
	keys := []string{ss[1].Key, "acme/orphan.zst"}
	for i := range 700 { // more than one query's worth
		keys = append(keys, fmt.Sprintf("x/%d", i))
	}
	keys = append(keys, ss[0].Key)
	for _, c := range []struct {
		name string
		keys []string
		want []string
	}{
		{"recorded and not", keys, []string{ss[0].Key, ss[1].Key}},
		{"none recorded", []string{"acme/orphan.zst"}, nil},
		{"no keys", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := db.RecordedSnapshotKeys(ctx, c.keys)
			must(t, err)
			var out []string
			for k, ok := range got {
				if ok {
					out = append(out, k)
				}
			}
			slices.Sort(out)
			if !slices.Equal(out, c.want) {
				t.Errorf("recorded %q, want %q", out, c.want)
			}
		})
	}
}

// The Backups page: of the ready tenants, which have a recent snapshot,
// which are late, and which are too new to be.
func TestSnapshotCoverage(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	for _, n := range []string{"fresh", "stale", "never", "also-never"} {
		addTenant(t, db, n, fleet.StatusReady)
	}
	addTenant(t, db, "gone", fleet.StatusArchived)
	record(t, db, "fresh", time.Hour, 10*time.Hour)
	record(t, db, "stale", time.Hour)
	record(t, db, "gone", 10*time.Hour)
	clk.Set(start.Add(11 * time.Hour))
	newcomer := &fleet.Tenant{Name: "newcomer", Platform: "local", Status: fleet.StatusReady, CreatedAt: clk.Now().Add(-time.Minute)}
	must(t, db.ClaimTenantJob(ctx, newcomer, &fleet.Job{Kind: fleet.JobCreate, Tenant: "newcomer"}, nil))
	for _, c := range []struct {
		name   string
		maxAge time.Duration
		limit  int
		want   string
		code   string
	}{
		{"two hours", 2 * time.Hour, 10, "5 ready: 1 fresh, 3 late [also-never never stale]", ""},
		{"the first late one", 2 * time.Hour, 1, "5 ready: 1 fresh, 3 late [also-never]", ""},
		{"counts only", 2 * time.Hour, 0, "5 ready: 1 fresh, 3 late []", ""},
		{"a day: the stale one is fresh, and every tenant is newer", 24 * time.Hour, 10, "5 ready: 2 fresh, 0 late []", ""},
		{"ten hours, to the millisecond", 10*time.Hour - time.Millisecond, 10, "5 ready: 1 fresh, 3 late [also-never never stale]", ""},
		{"just over ten hours", 10*time.Hour + time.Millisecond, 10, "5 ready: 2 fresh, 2 late [also-never never]", ""},
		{"no age", 0, 10, "", fleet.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := db.SnapshotCoverage(ctx, c.maxAge, c.limit)
			wantCode(t, err, c.code)
			if err != nil {
				return
			}
			if g := fmt.Sprintf("%d ready: %d fresh, %d late %v", got.Tenants, got.Fresh, got.Late, got.LateNames); g != c.want {
				t.Errorf("got %q, want %q", g, c.want)
			}
		})
	}
}

func TestSnapshotTotals(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	got, err := db.SnapshotTotals(ctx)
	must(t, err)
	if got.Snapshots != 0 || got.Size != 0 || got.RawSize != 0 || got.Oldest != nil {
		t.Fatalf("no snapshots: %+v", got)
	}
	acme := record(t, db, "acme", time.Hour, 2*time.Hour)
	beta := record(t, db, "beta", 30*time.Minute)
	big := snap("beta", start.Add(3*time.Hour))
	big.Size, big.RawSize = 1<<40, 1<<42
	must(t, db.RecordSnapshot(ctx, big))
	for _, c := range []struct {
		name   string
		delete []int64
		want   string
	}{
		{"four", nil, fmt.Sprintf("4 snapshots, %d bytes of %d, oldest beta@0.5", 300+1<<40, 1200+1<<42)},
		{"the oldest deleted", []int64{beta[0].ID}, fmt.Sprintf("3 snapshots, %d bytes of %d, oldest acme@1", 200+1<<40, 800+1<<42)},
		{"another", []int64{acme[0].ID}, fmt.Sprintf("2 snapshots, %d bytes of %d, oldest acme@2", 100+1<<40, 400+1<<42)},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := db.DeleteSnapshots(ctx, c.delete...)
			must(t, err)
			got, err := db.SnapshotTotals(ctx)
			must(t, err)
			g := fmt.Sprintf("%d snapshots, %d bytes of %d, oldest %s@%g", got.Snapshots, got.Size, got.RawSize, got.Oldest.Tenant,
				got.Oldest.TakenAt.Sub(start).Hours())
			if g != c.want {
				t.Errorf("got %q, want %q", g, c.want)
			}
		})
	}
}

// The migration goes down and up again, so that a release can be rolled
// back.
func TestSnapshotsMigrationDown(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	record(t, db, "acme", 0)
	p, err := goose.NewProvider(goose.DialectTurso, db.SQL(), migrations.Admin())
	must(t, err)
	_, err = p.DownTo(ctx, 12)
	must(t, err)
	if n := count(t, db, `SELECT count(*) FROM sqlite_schema WHERE name LIKE 'snapshot%' OR name IN ('jobs_one_snapshot', 'tenants_job', 'collection_runs_job')`); n != 0 {
		t.Errorf("%d snapshot tables, triggers or indexes left after the down migration", n)
	}
	_, err = p.Up(ctx)
	must(t, err)
	got, err := db.SnapshotTotals(ctx)
	must(t, err)
	if got.Snapshots != 0 || got.Oldest != nil {
		t.Errorf("after down and up: %+v", got)
	}
}

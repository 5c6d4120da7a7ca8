package demo

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// Mirrors fleet.ValidateName without importing it, so this package's
// tests do not depend on code under concurrent change.
var validName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

var storeSchema = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile("../../migrations/tenant/00001_store_schema.sql")
	if err != nil {
		return "", err
	}
	s := string(b)
	up := strings.Index(s, "-- +goose Up")
	down := strings.Index(s, "-- +goose Down")
	if up < 0 || down < up {
		return "", errors.New("no goose Up/Down markers in the store schema")
	}
	return s[up+len("-- +goose Up") : down], nil
})

func openStore(tb testing.TB, dir, name string) *sql.DB {
	tb.Helper()
	schema, err := storeSchema()
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, name+".db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Exec(schema); err != nil {
		tb.Fatal(err)
	}
	return db
}

// A fixed clock: the last day is a Sunday afternoon, so the period ends
// part-way through a day and the "never after now" rule matters.
var (
	testNow = time.Date(2025, 6, 15, 13, 37, 11, 0, time.UTC)
	testEnd = testNow
)

func TestProfiles(t *testing.T) {
	ps := Profiles(50, 1)
	if len(ps) != 50 {
		t.Fatalf("got %d profiles, want 50", len(ps))
	}
	seen := map[string]bool{}
	idle := 0
	for _, p := range ps {
		if len(p.Name) > 63 || !validName.MatchString(p.Name) {
			t.Errorf("invalid tenant name %q", p.Name)
		}
		if seen[p.Name] {
			t.Errorf("duplicate name %q", p.Name)
		}
		seen[p.Name] = true
		if p.Idle {
			idle++
		}
		if p.Growth < -0.002 || p.Growth > 0.01 {
			t.Errorf("%s: growth %v out of range", p.Name, p.Growth)
		}
	}
	if idle < 2 || idle > 6 {
		t.Errorf("%d idle stores of 50, want about 8%%", idle)
	}
	if !slices.Equal(ps, Profiles(50, 1)) {
		t.Error("Profiles is not deterministic")
	}
	if slices.Equal(ps, Profiles(50, 2)) {
		t.Error("Profiles ignores the seed")
	}

	scales := make([]float64, len(ps))
	for i, p := range ps {
		scales[i] = p.Scale
	}
	slices.Sort(scales)
	median, top := scales[len(scales)/2], scales[len(scales)-1]
	if top < 10*median {
		t.Errorf("max scale %.2f is not far above median %.2f", top, median)
	}
	// In orders a day: the biggest ~100-300, the median 5-20, a tail below 2.
	if o := top * ordersPerScale; o < 100 || o > 300 {
		t.Errorf("biggest store does %.0f orders/day", o)
	}
	if o := median * ordersPerScale; o < 5 || o > 20 {
		t.Errorf("median store does %.1f orders/day", o)
	}
	if o := scales[2] * ordersPerScale; o > 2 {
		t.Errorf("third smallest store does %.1f orders/day, want a tail below 2", o)
	}
}

func TestUniqueNameSuffixes(t *testing.T) {
	used := map[string]bool{}
	got := []string{uniqueName("acme-coffee", used), uniqueName("acme-coffee", used), uniqueName("acme-coffee", used)}
	want := []string{"acme-coffee", "acme-coffee-2", "acme-coffee-3"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	long := strings.Repeat("a", 62) + "-b"
	uniqueName(long[:63], used)
	if n := uniqueName(long[:63], used); len(n) > 63 || !validName.MatchString(n) {
		t.Errorf("suffixed long name %q is invalid", n)
	}
}

// pickStores returns a big store, the third biggest of the default fleet
// at ~70 orders a day by the end, and a small but not tiny one, both busy.
// The very biggest would make the -race run three times as slow without
// testing anything more.
func pickStores(t *testing.T) (big, small Profile) {
	ps := Profiles(50, 1)
	slices.SortFunc(ps, func(a, b Profile) int { return cmp.Compare(b.Scale, a.Scale) })
	big = ps[2]
	for _, p := range ps[len(ps)*3/4:] {
		if !p.Idle && p.Scale > 0.2 {
			return big, p
		}
	}
	t.Fatal("no small busy store")
	return
}

func TestFill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	big, small := pickStores(t)
	const days = 90

	db := openStore(t, dir, big.Name)
	st, err := Fill(ctx, db, big, days, testEnd, testNow)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (scale %.1f): %+v", big.Name, big.Scale, st)
	orders := checkRows(t, db, st)

	perDay := map[string]int{}
	for _, o := range orders {
		perDay[o.Format(time.DateOnly)]++
	}
	if len(perDay) < days*9/10 {
		t.Errorf("big store has orders on only %d of %d days", len(perDay), days)
	}

	// Weekend against weekday volume, per calendar day of each kind. The
	// last day is partial, so it is left out.
	var we, wd, weDays, wdDays int
	for d := testEnd.AddDate(0, 0, -(days - 1)); d.YearDay() != testEnd.YearDay(); d = d.AddDate(0, 0, 1) {
		n := perDay[d.Format(time.DateOnly)]
		if wday := d.Weekday(); wday == time.Saturday || wday == time.Sunday {
			we, weDays = we+n, weDays+1
		} else {
			wd, wdDays = wd+n, wdDays+1
		}
	}
	weAvg, wdAvg := float64(we)/float64(weDays), float64(wd)/float64(wdDays)
	t.Logf("weekend %.1f orders/day, weekday %.1f", weAvg, wdAvg)
	if weAvg <= wdAvg {
		t.Errorf("weekend volume %.1f/day not above weekday %.1f/day", weAvg, wdAvg)
	}

	// Determinism on the small store: same seed, same rows.
	var sums [2]string
	var stats [2]Stats
	for i := range 2 {
		db := openStore(t, dir, fmt.Sprintf("%s-%d", small.Name, i))
		if stats[i], err = Fill(ctx, db, small, days, testEnd, testNow); err != nil {
			t.Fatal(err)
		}
		checkRows(t, db, stats[i])
		sums[i] = fingerprint(t, db)
	}
	t.Logf("%s (scale %.2f): %+v", small.Name, small.Scale, stats[0])
	if stats[0] != stats[1] || sums[0] != sums[1] {
		t.Errorf("same profile, different data: %+v %s vs %+v %s", stats[0], sums[0], stats[1], sums[1])
	}
	if stats[0].Orders == 0 || stats[0].Orders >= st.Orders/10 {
		t.Errorf("small store has %d orders against the big one's %d", stats[0].Orders, st.Orders)
	}
}

// checkRows checks what must hold for every row of every store, in one
// pass per table so that it stays cheap under -race: counts match Stats,
// timestamps are canonical, ordered and not after now, amounts and
// statuses are valid. It returns the orders' creation times.
func checkRows(t *testing.T, db *sql.DB, st Stats) (orders []time.Time) {
	t.Helper()
	tables := []struct {
		name string
		want int
		ok   string // SQL for "the rest of the row is valid"
	}{
		{"products", st.Products, `typeof(price) = 'integer' AND price > 0 AND name <> ''`},
		{"orders", st.Orders, `typeof(total_amount) = 'integer' AND total_amount > 0
			AND status IN ('pending', 'paid', 'shipped', 'cancelled', 'refunded')`},
		{"carts", st.Carts, `status IN ('active', 'abandoned', 'converted')`},
	}
	for _, tb := range tables {
		// The driver turns TIMESTAMP columns into time.Time and back into
		// RFC 3339 on Scan; the concatenation reads the stored text.
		rows, err := db.Query(`SELECT created_at || '', updated_at || '', ` + tb.ok + ` FROM ` + tb.name)
		if err != nil {
			t.Fatal(err)
		}
		n, bad := 0, 0
		for rows.Next() {
			n++
			var c, u string
			var ok bool
			if err := rows.Scan(&c, &u, &ok); err != nil {
				t.Fatal(err)
			}
			// Parse alone would accept fractional seconds; the round trip
			// insists on the canonical text.
			ct, err1 := time.Parse(Layout, c)
			ut, err2 := time.Parse(Layout, u)
			switch {
			case err1 != nil || err2 != nil || ct.Format(Layout) != c || ut.Format(Layout) != u:
				t.Errorf("%s: non-canonical timestamps %q, %q", tb.name, c, u)
			case ut.Before(ct):
				t.Errorf("%s: updated_at %s before created_at %s", tb.name, u, c)
			case ut.After(testNow) || ct.After(testNow):
				t.Errorf("%s: timestamp after now: %s, %s", tb.name, c, u)
			case !ok:
				t.Errorf("%s: bad amount, name or status in row %d", tb.name, n)
			default:
				if tb.name == "orders" {
					orders = append(orders, ct)
				}
				continue
			}
			if bad++; bad > 5 {
				t.FailNow()
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if n != tb.want {
			t.Errorf("%s: %d rows, Stats says %d", tb.name, n, tb.want)
		}
	}
	return orders
}

func fingerprint(t *testing.T, db *sql.DB) string {
	t.Helper()
	var s string
	err := db.QueryRow(`SELECT
		(SELECT COALESCE(SUM(total_amount), 0) || ':' || COALESCE(MAX(created_at), '') || ':' || COALESCE(group_concat(status, ''), '') FROM orders)
		|| '/' || (SELECT COALESCE(SUM(price), 0) || ':' || COALESCE(group_concat(name, ''), '') FROM products)
		|| '/' || (SELECT COALESCE(MAX(updated_at), '') || ':' || COALESCE(group_concat(status, ''), '') FROM carts)`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", len(s)) + ":" + s[:min(len(s), 80)]
}

// Recent orders must lean pending and old ones be settled. Every recent
// unconverted cart is active; of the old ones, a share nobody cleaned up
// stays active, as in real shops, and the rest are abandoned.
func TestFillStatusesByAge(t *testing.T) {
	t.Parallel()
	big, _ := pickStores(t)
	db := openStore(t, t.TempDir(), "s")
	if _, err := Fill(context.Background(), db, big, 7, testEnd, testNow); err != nil {
		t.Fatal(err)
	}
	recent := testNow.Add(-2 * time.Hour).Format(Layout)
	old := testNow.AddDate(0, 0, -5).Format(Layout)
	dayAgo := testNow.Add(-24 * time.Hour).Format(Layout)
	var recentPending, recentAll, oldPending, oldAll, oldActive, oldOpen, recentAbandoned int
	err := db.QueryRow(`SELECT
		(SELECT COUNT(*) FROM orders WHERE created_at >= ?1 AND status = 'pending'),
		(SELECT COUNT(*) FROM orders WHERE created_at >= ?1),
		(SELECT COUNT(*) FROM orders WHERE created_at < ?2 AND status = 'pending'),
		(SELECT COUNT(*) FROM orders WHERE created_at < ?2),
		(SELECT COUNT(*) FROM carts WHERE updated_at < ?3 AND status = 'active'),
		(SELECT COUNT(*) FROM carts WHERE updated_at < ?3 AND status <> 'converted'),
		(SELECT COUNT(*) FROM carts WHERE updated_at > ?3 AND status = 'abandoned')`,
		recent, old, dayAgo).Scan(&recentPending, &recentAll, &oldPending, &oldAll, &oldActive, &oldOpen, &recentAbandoned)
	if err != nil {
		t.Fatal(err)
	}
	rp, op := float64(recentPending)/float64(recentAll), float64(oldPending)/float64(oldAll)
	t.Logf("pending: %.0f%% of the last 2h, %.1f%% of orders >5 days old", rp*100, op*100)
	if recentAll == 0 || oldAll == 0 || rp <= 3*op {
		t.Errorf("pending share: recent %d/%d, old %d/%d", recentPending, recentAll, oldPending, oldAll)
	}
	t.Logf("carts untouched for a day: %d of %d unconverted still active", oldActive, oldOpen)
	if oldOpen == 0 || oldActive*10 < oldOpen || oldActive*2 > oldOpen {
		t.Errorf("%d of %d old unconverted carts still active, want 10-50%%", oldActive, oldOpen)
	}
	if recentAbandoned > 0 {
		t.Errorf("%d carts touched within a day are abandoned already", recentAbandoned)
	}
}

func TestFillIdle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	var quiet, empty *Profile
	for _, p := range Profiles(200, 3) {
		switch {
		case !p.Idle:
		case traitsFor(p.Seed).empty:
			empty = &p
		case p.Scale > 0.5:
			quiet = &p
		}
	}
	if quiet == nil || empty == nil {
		t.Fatalf("want both kinds of idle store: quiet %v, empty %v", quiet, empty)
	}

	db := openStore(t, dir, "empty")
	if st, err := Fill(ctx, db, *empty, 60, testEnd, testNow); err != nil || st != (Stats{}) {
		t.Errorf("empty idle store: %+v, %v", st, err)
	}

	db = openStore(t, dir, "quiet")
	st, err := Fill(ctx, db, *quiet, 60, testEnd, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if st.Orders == 0 || st.Carts == 0 {
		t.Errorf("quiet idle store never had traffic: %+v", st)
	}
	var last string
	err = db.QueryRow(`SELECT MAX(m) FROM (SELECT MAX(updated_at) m FROM orders UNION ALL SELECT MAX(updated_at) FROM carts)`).Scan(&last)
	if err != nil {
		t.Fatal(err)
	}
	if last > testNow.AddDate(0, 0, -13).Format(Layout) {
		t.Errorf("idle store %s had activity at %s", quiet.Name, last)
	}
}

func TestFillCancelled(t *testing.T) {
	t.Parallel()
	big, _ := pickStores(t)
	db := openStore(t, t.TempDir(), "c")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fill(ctx, db, big, 30, testEnd, testNow); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM orders`).Scan(&n); err != nil || n != 0 {
		t.Errorf("cancelled Fill left %d orders (err %v)", n, err)
	}
}

func TestFillPastEnd(t *testing.T) {
	t.Parallel()
	// A period that ended yesterday keeps the whole of yesterday; nothing
	// may be dated today.
	big, _ := pickStores(t)
	db := openStore(t, t.TempDir(), "p")
	end := testNow.AddDate(0, 0, -1)
	if _, err := Fill(context.Background(), db, big, 3, end, testNow); err != nil {
		t.Fatal(err)
	}
	var first, last string
	if err := db.QueryRow(`SELECT MIN(created_at), MAX(updated_at) FROM orders`).Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	if first < "2025-06-12" || last >= "2025-06-15" || last < "2025-06-14 23" {
		t.Errorf("orders span %s .. %s, want 2025-06-12 .. end of 2025-06-14", first, last)
	}
}

// BenchmarkFill50x90 fills a default demo fleet, 50 stores of 90 days,
// two stores at a time as the caller does.
func BenchmarkFill50x90(b *testing.B) {
	ps := Profiles(50, 1)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		dbs := make([]*sql.DB, len(ps))
		for j, p := range ps {
			dbs[j] = openStore(b, dir, p.Name)
		}
		b.StartTimer()

		work := make(chan int)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var total Stats
		for range 2 {
			wg.Go(func() {
				for j := range work {
					st, err := Fill(ctx, dbs[j], ps[j], 90, testEnd, testNow)
					if err != nil {
						b.Error(err)
					}
					mu.Lock()
					total.Products += st.Products
					total.Orders += st.Orders
					total.Carts += st.Carts
					mu.Unlock()
				}
			})
		}
		for j := range ps {
			work <- j
		}
		close(work)
		wg.Wait()

		b.StopTimer()
		for _, db := range dbs {
			db.Close()
		}
		b.ReportMetric(float64(total.Orders), "orders")
		b.ReportMetric(float64(total.Products+total.Orders+total.Carts), "rows")
		b.StartTimer()
	}
}

package collect_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// newStore makes a migrated store database.
func newStore(t testing.TB, dir, name string) *sql.DB {
	t.Helper()
	u, err := tenantdb.FileURL(filepath.Join(dir, name+".db"), false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := tenantdb.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := schema.Embedded().Apply(context.Background(), db, schema.Embedded().Latest()); err != nil {
		t.Fatal(err)
	}
	return db
}

// seedQuery is seed 000's literal per-day query (the article Tenantry's
// collection comes from): the reference the tests prove Read against and
// the baseline the benchmarks beat.
const seedQuery = `
SELECT
(SELECT COUNT(*) FROM orders
WHERE DATE(created_at) = DATE(?)) as total_orders,
(SELECT COALESCE(SUM(total_amount), 0) FROM orders
WHERE DATE(created_at) = DATE(?)) as total_revenue,
(SELECT COUNT(*) FROM carts
WHERE status = 'active'
AND DATE(updated_at) = DATE(?)) as active_carts,
(SELECT COUNT(*) FROM products
WHERE DATE(created_at) = DATE(?)) as new_products`

// readSeed runs seed 000's query for one day.
func readSeed(ctx context.Context, db *sql.DB, tenant, day string) (fleet.Metrics, error) {
	m := fleet.Metrics{Date: day, Tenant: tenant}
	err := db.QueryRowContext(ctx, seedQuery, day, day, day, day).Scan(&m.Orders, &m.Revenue, &m.ActiveCarts, &m.NewProducts)
	return m, err
}

// oddTimestamp writes a time in one of the many forms SQLite's DATE()
// reads, or a value it reads as no day at all.
func oddTimestamp(r *rand.Rand, t time.Time) any {
	switch r.IntN(16) {
	case 0:
		return t.Format("2006-01-02 15:04:05")
	case 1:
		return t.Format("2006-01-02T15:04:05")
	case 2:
		return t.Format("2006-01-02T15:04:05Z")
	case 3:
		return t.Format("2006-01-02 15:04:05.000")
	case 4:
		return t.Format("2006-01-02T15:04:05.123456Z")
	case 5:
		return t.Format("2006-01-02T15:04:05") + "+05:30"
	case 6:
		return t.Format("2006-01-02T15:04:05") + "-08:00"
	case 7:
		return t.Format("2006-01-02 15:04") // no seconds
	case 8:
		return t.Format("2006-01-02") // a day alone
	case 9: // any offset SQLite accepts
		sign := "+"
		if r.IntN(2) == 0 {
			sign = "-"
		}
		return t.Format("2006-01-02T15:04:05") + fmt.Sprintf("%s%02d:%02d", sign, r.IntN(15), r.IntN(60))
	case 10:
		return nil
	case 11: // a julian day number, stored as a number
		return 2440587.5 + float64(t.Unix())/86400
	case 12:
		return "not a date"
	case 13:
		return ""
	case 14:
		return t.Format("2006-01-02 15:04:05") + "Z"
	default:
		return t.Format("2006-01-02T15:04")
	}
}

// TestReadEqualsSeed is the property: on generated stores with every kind
// of timestamp text, Read returns, for every day, exactly what seed 000's
// literal query returns.
func TestReadEqualsSeed(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for seed := range uint64(12) {
		r := rand.New(rand.NewPCG(seed, 42))
		name := fmt.Sprintf("store-%d", seed)
		db := newStore(t, dir, name)
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(200))
		span := 3 + r.IntN(20)
		ts := func() any {
			// Around the range and beyond it, so that neighbouring days and
			// offsets that cross midnight are exercised.
			return oddTimestamp(r, base.Add(time.Duration(r.Int64N(int64(span+6)*86400)-3*86400)*time.Second))
		}
		tx, _ := db.Begin()
		for range 300 + r.IntN(500) {
			if _, err := tx.Exec(`INSERT INTO orders(total_amount, status, created_at, updated_at) VALUES (?, 'paid', ?, ?)`, r.IntN(100000), ts(), ts()); err != nil {
				t.Fatal(err)
			}
		}
		for range 200 + r.IntN(300) {
			st := []string{"active", "abandoned", "converted"}[r.IntN(3)]
			if _, err := tx.Exec(`INSERT INTO carts(status, created_at, updated_at) VALUES (?, ?, ?)`, st, ts(), ts()); err != nil {
				t.Fatal(err)
			}
		}
		for range 50 + r.IntN(100) {
			if _, err := tx.Exec(`INSERT INTO products(name, price, created_at) VALUES ('p', 100, ?)`, ts()); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		from, to := base, base.AddDate(0, 0, span-1)
		got, err := collect.Read(ctx, db, name, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != span {
			t.Fatalf("%s: %d days, want %d", name, len(got), span)
		}
		var nonzero int
		for _, m := range got {
			want, err := readSeed(ctx, db, name, m.Date)
			if err != nil {
				t.Fatal(err)
			}
			if m != want {
				t.Errorf("%s %s: got %+v, seed says %+v", name, m.Date, m, want)
			}
			// The one-day statement (the hourly collection's) too.
			day, _ := fleet.ParseDay(m.Date)
			one, err := collect.Read(ctx, db, name, day, day)
			if err != nil {
				t.Fatal(err)
			}
			if len(one) != 1 || one[0] != want {
				t.Errorf("%s %s one day: got %+v, seed says %+v", name, m.Date, one, want)
			}
			if m.Orders > 0 && m.ActiveCarts > 0 && m.NewProducts > 0 {
				nonzero++
			}
		}
		if nonzero == 0 {
			t.Errorf("%s: no day with data in every table; the test proves little", name)
		}
	}
}

// TestReadUsesIndexes: every table is read through its index, never
// scanned whole, by the statement for a range and the one for a day.
func TestReadUsesIndexes(t *testing.T) {
	for _, q := range []string{collect.QueryForPlan, collect.DayQueryForPlan} {
		usesIndexes(t, q)
	}
}

func usesIndexes(t *testing.T, q string) {
	db := newStore(t, t.TempDir(), "s")
	q = strings.NewReplacer("?1", "'2026-01-01'", "?2", "'2026-01-04'", "?3", "'2026-01-02'").Replace(q)
	rows, err := db.Query(`EXPLAIN QUERY PLAN ` + q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	text := strings.Join(plan, "\n")
	for _, idx := range []string{"idx_orders_created_at", "idx_carts_status", "idx_products_created_at"} {
		if !strings.Contains(text, idx) {
			t.Errorf("plan does not use %s:\n%s", idx, text)
		}
	}
	if !strings.Contains(text, "idx_carts_status (status=? AND updated_at>? AND updated_at<?)") {
		t.Errorf("carts are not narrowed by day:\n%s", text)
	}
	for _, line := range plan {
		if strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, "USING") {
			t.Errorf("full scan in plan: %s\n%s", line, text)
		}
	}
}

// TestReadZeros: a day without activity is a row of zeros.
func TestReadZeros(t *testing.T) {
	db := newStore(t, t.TempDir(), "empty")
	from, _ := fleet.ParseDay("2026-02-27")
	to, _ := fleet.ParseDay("2026-03-02")
	got, err := collect.Read(context.Background(), db, "empty", from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"}
	if len(got) != len(want) {
		t.Fatalf("%d days", len(got))
	}
	for i, m := range got {
		if m.Date != want[i] || m.Orders != 0 || m.Revenue != 0 || m.ActiveCarts != 0 || m.NewProducts != 0 || m.Tenant != "empty" {
			t.Errorf("day %d: %+v", i, m)
		}
	}
}

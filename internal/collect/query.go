package collect

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// metricsQuery reads a store's daily numbers for a range of days in one
// statement: each table once, through its index, grouped by day.
//
// The seed wraps the column in DATE(), which no index can serve. Here the
// index narrows first, to texts from the day before the range to two days
// after it: a timestamp with a UTC offset (SQLite accepts at most ±14:59)
// can fall on a neighbouring day once DATE() converts it to UTC, but never
// two days away. DATE() then decides on the survivors, so the numbers are
// the seed's for every text DATE() reads. Two more index ranges, empty in
// a sane database, keep the rare values that sort outside any date text:
// numbers (julian days: the TIMESTAMP columns' numeric affinity turns
// number-like text into numbers, which sort before all text) and text that
// sorts after the digits ('now'). NULLs match no range, and count for no
// day, as in the seed. A day's group exists only if it has rows, so its
// sum is never NULL.
const metricsQuery = `
SELECT 'o', DATE(created_at) AS d, count(*), sum(total_amount) FROM %[1]sorders
 WHERE (created_at >= ?1 AND created_at < ?2) OR created_at < '0000-' OR created_at >= ':'
 GROUP BY d
UNION ALL
SELECT 'c', DATE(updated_at) AS d, count(*), 0 FROM %[1]scarts
 WHERE (status = 'active' AND updated_at >= ?1 AND updated_at < ?2)
    OR (status = 'active' AND updated_at < '0000-') OR (status = 'active' AND updated_at >= ':')
 GROUP BY d
UNION ALL
SELECT 'p', DATE(created_at) AS d, count(*), 0 FROM %[1]sproducts
 WHERE (created_at >= ?1 AND created_at < ?2) OR created_at < '0000-' OR created_at >= ':'
 GROUP BY d`

// queryFor returns the metrics query on the tables of one schema: "" for
// the main database, "t." for a database attached as t.
func queryFor(schema string) string { return fmt.Sprintf(metricsQuery, schema) }

var mainQuery = queryFor("")

// bounds are the index range of a from..to collection.
func bounds(from, to time.Time) (lo, hi string) {
	return from.AddDate(0, 0, -1).Format(fleet.DayLayout), to.AddDate(0, 0, 2).Format(fleet.DayLayout)
}

// Read returns a store's metrics for every day from..to (inclusive), one
// entry per day in order, zeros included: averages per store depend on a
// row for every store and day.
func Read(ctx context.Context, db *sql.DB, tenant string, from, to time.Time) ([]fleet.Metrics, error) {
	lo, hi := bounds(from, to)
	rows, err := db.QueryContext(ctx, mainQuery, lo, hi)
	if err != nil {
		return nil, err
	}
	return scanMetrics(rows, tenant, from, to)
}

// scanMetrics turns the query's rows into one entry per day, zeros
// included.
func scanMetrics(rows *sql.Rows, tenant string, from, to time.Time) ([]fleet.Metrics, error) {
	defer rows.Close()
	days := fleet.Days(from, to)
	out := make([]fleet.Metrics, len(days))
	index := make(map[string]int, len(days))
	for i, d := range days {
		out[i] = fleet.Metrics{Date: d, Tenant: tenant}
		index[d] = i
	}
	for rows.Next() {
		var kind string
		var day sql.NullString
		var n, sum int64
		if err := rows.Scan(&kind, &day, &n, &sum); err != nil {
			return nil, err
		}
		i, ok := index[day.String]
		if !day.Valid || !ok {
			continue // a neighbouring day, or a text DATE() cannot read
		}
		switch kind {
		case "o":
			out[i].Orders, out[i].Revenue = n, sum
		case "c":
			out[i].ActiveCarts = n
		case "p":
			out[i].NewProducts = n
		default:
			return nil, fmt.Errorf("metrics query: unexpected row kind %q", kind)
		}
	}
	return out, rows.Err()
}

// SeedQuery is seed 000's literal per-day query, kept as the reference the
// tests prove Read against and the baseline the benchmarks beat.
const SeedQuery = `
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

// ReadSeed runs the seed's query for one day.
func ReadSeed(ctx context.Context, db *sql.DB, tenant, day string) (fleet.Metrics, error) {
	m := fleet.Metrics{Date: day, Tenant: tenant}
	err := db.QueryRowContext(ctx, SeedQuery, day, day, day, day).Scan(&m.Orders, &m.Revenue, &m.ActiveCarts, &m.NewProducts)
	return m, err
}

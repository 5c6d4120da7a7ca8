package collect

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// rangeQuery reads a store's daily numbers for a range of days in one
// statement: each table once, through its index, grouped by day.
//
// Seed 000's query (the article Tenantry's metrics follow) wraps the
// column in DATE(), which no index can serve. Here the index narrows
// first, to texts from the day before the range to two days after it: a
// timestamp with a UTC offset (SQLite accepts at most ±14:59) can fall on
// a neighbouring day once DATE() converts it to UTC, but never two days
// away. SQLite's date parser then decides on the survivors, so the numbers
// are seed 000's for every value DATE() reads. Two more index ranges,
// empty in a sane database, keep the rare values that sort outside any
// date text: numbers (julian days: the TIMESTAMP columns' numeric affinity
// turns number-like text into numbers, which sort before all text) and
// text that sorts after the digits ('now'). NULLs match no range, and
// count for no day, as in seed 000's query. A day's group exists only if
// it has rows, so its sum is never NULL.
//
// The day is julianday() made a day number, floor(julianday + 0.5), not
// DATE(): the same parse (DATE(x) is NULL exactly when julianday(x) is),
// without formatting a text per row, and the days group as integers.
// floor(julianday(x) + 0.5) is the day DATE(x) names for every year SQLite
// reads, since julianday is the exact milliseconds SQLite keeps divided by
// a day (dayNumber turns a day into its number).
const rangeQuery = `
SELECT 'o', coalesce(CAST(julianday(created_at) + 0.5 AS INTEGER), 0) AS d, count(*), sum(total_amount) FROM orders
 WHERE (created_at >= ?1 AND created_at < ?2) OR created_at < '0000-' OR created_at >= ':'
 GROUP BY d
UNION ALL
SELECT 'c', coalesce(CAST(julianday(updated_at) + 0.5 AS INTEGER), 0) AS d, count(*), 0 FROM carts
 WHERE (status = 'active' AND updated_at >= ?1 AND updated_at < ?2)
    OR (status = 'active' AND updated_at < '0000-') OR (status = 'active' AND updated_at >= ':')
 GROUP BY d
UNION ALL
SELECT 'p', coalesce(CAST(julianday(created_at) + 0.5 AS INTEGER), 0) AS d, count(*), 0 FROM products
 WHERE (created_at >= ?1 AND created_at < ?2) OR created_at < '0000-' OR created_at >= ':'
 GROUP BY d`

// dayQuery is rangeQuery for a single day (day number ?3), the hourly
// collection's case: the same index ranges, and the day's rows only,
// counted without grouping, which costs less to prepare and to run. A
// table without rows that day gives a row of zeros.
const dayQuery = `
SELECT 'o', ?3, count(*), coalesce(sum(total_amount), 0) FROM orders
 WHERE ((created_at >= ?1 AND created_at < ?2) OR created_at < '0000-' OR created_at >= ':')
   AND CAST(julianday(created_at) + 0.5 AS INTEGER) = ?3
UNION ALL
SELECT 'c', ?3, count(*), 0 FROM carts
 WHERE ((status = 'active' AND updated_at >= ?1 AND updated_at < ?2)
    OR (status = 'active' AND updated_at < '0000-') OR (status = 'active' AND updated_at >= ':'))
   AND CAST(julianday(updated_at) + 0.5 AS INTEGER) = ?3
UNION ALL
SELECT 'p', ?3, count(*), 0 FROM products
 WHERE ((created_at >= ?1 AND created_at < ?2) OR created_at < '0000-' OR created_at >= ':')
   AND CAST(julianday(created_at) + 0.5 AS INTEGER) = ?3`

// dayNumber is a day's number as the queries give it: floor(julianday +
// 0.5) of any time that day (1970-01-01 is 2440588).
func dayNumber(day time.Time) int64 {
	return day.UTC().Truncate(24*time.Hour).Unix()/86400 + 2440588
}

// versionArm adds the tenant's schema version (goose's table) to the
// metrics query as one more row, so that the registry's mirror costs no
// statement of its own. On a tenant without goose's table the statement
// fails ("no such table"), and the query is run again without it.
const versionArm = `
UNION ALL
SELECT 'v', 0, (SELECT coalesce(max(version_id), 0) FROM ` + schema.VersionTable + ` WHERE is_applied), 0`

// statement is the metrics query for from..to, with or without the
// version row, and its arguments.
func statement(from, to time.Time, withVersion bool) (string, []any) {
	lo, hi := bounds(from, to)
	q, args := rangeQuery, []any{lo, hi}
	if from.Equal(to) {
		q, args = dayQuery, append(args, dayNumber(from))
	}
	if withVersion {
		q += versionArm
	}
	return q, args
}

// noVersionTable reports whether err is the version arm failing on a
// tenant without goose's table.
func noVersionTable(err error) bool { return tenantdb.NoSuchTable(err, schema.VersionTable) }

// bounds are the index range of a from..to collection.
func bounds(from, to time.Time) (lo, hi string) {
	return from.AddDate(0, 0, -1).Format(fleet.DayLayout), to.AddDate(0, 0, 2).Format(fleet.DayLayout)
}

// readMain reads a tenant's metrics and schema version in one statement
// (two for a tenant without goose's table, whose version is 0).
func readMain(ctx context.Context, db *sql.DB, tenant string, from, to time.Time) (reading, error) {
	return readWith(ctx, func(ctx context.Context, q string, args ...any) (rowScanner, error) {
		return db.QueryContext(ctx, q, args...)
	}, tenant, from, to)
}

// rowScanner is what scanMetrics reads: *sql.Rows, or a remote
// statement's whole result (tenantdb.Result).
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// readWith is readMain through any way of running a statement.
func readWith(ctx context.Context, query func(ctx context.Context, q string, args ...any) (rowScanner, error), tenant string, from, to time.Time) (reading, error) {
	q, args := statement(from, to, true)
	rows, err := query(ctx, q, args...)
	if err == nil {
		var r reading
		if r, err = scanMetrics(rows, tenant, from, to); !noVersionTable(err) {
			return r, err
		}
	} else if !noVersionTable(err) {
		return reading{}, err
	}
	r, err := readWithout(ctx, query, tenant, from, to)
	r.version = 0
	return r, err
}

// readWithout reads a tenant's metrics only (version -1).
func readWithout(ctx context.Context, query func(ctx context.Context, q string, args ...any) (rowScanner, error), tenant string, from, to time.Time) (reading, error) {
	q, args := statement(from, to, false)
	rows, err := query(ctx, q, args...)
	if err != nil {
		return reading{}, err
	}
	return scanMetrics(rows, tenant, from, to)
}

// scanMetrics turns the query's rows into one entry per day, zeros
// included, and the version row, if any, into the version (-1 if none).
func scanMetrics(rows rowScanner, tenant string, from, to time.Time) (reading, error) {
	defer rows.Close()
	version := int64(-1)
	days := fleet.Days(from, to)
	out := make([]fleet.Metrics, len(days))
	for i, d := range days {
		out[i] = fleet.Metrics{Date: d, Tenant: tenant}
	}
	first := dayNumber(from)
	for rows.Next() {
		var kind string
		var day, n, sum int64
		if err := rows.Scan(&kind, &day, &n, &sum); err != nil {
			return reading{}, err
		}
		if kind == "v" {
			version = n
			continue
		}
		i := day - first
		if i < 0 || i >= int64(len(out)) {
			continue // a neighbouring day, or a value DATE() cannot read (0)
		}
		switch kind {
		case "o":
			out[i].Orders, out[i].Revenue = n, sum
		case "c":
			out[i].ActiveCarts = n
		case "p":
			out[i].NewProducts = n
		default:
			return reading{}, fmt.Errorf("metrics query: unexpected row kind %q", kind)
		}
	}
	if err := rows.Err(); err != nil {
		return reading{}, err
	}
	return reading{metrics: out, version: version}, nil
}

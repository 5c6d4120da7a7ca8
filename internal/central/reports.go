package central

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// The dashboards read the rollups that every collection keeps exact in
// the same transactions as the metrics table (metrics_daily per day,
// metrics_monthly per store and month), so no report scans the metrics
// table except for one tenant or one day.

// DayTotals are the platform's sums for one day over the stores with a
// metrics row that day.
type DayTotals struct {
	Date        string `json:"date"`
	Stores      int64  `json:"stores"`
	Orders      int64  `json:"total_orders"`
	Revenue     int64  `json:"total_revenue"`
	ActiveCarts int64  `json:"active_carts"`
	NewProducts int64  `json:"new_products"`
}

// DailyTotals returns the days from..to (YYYY-MM-DD, inclusive) that have
// metrics, oldest first.
func (db *DB) DailyTotals(ctx context.Context, from, to string) ([]DayTotals, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT date, stores, total_orders, total_revenue, active_carts, new_products
		FROM metrics_daily WHERE date BETWEEN ? AND ? AND stores > 0 ORDER BY date`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DayTotals
	for rows.Next() {
		var d DayTotals
		if err := rows.Scan(&d.Date, &d.Stores, &d.Orders, &d.Revenue, &d.ActiveCarts, &d.NewProducts); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ActiveStores counts the stores with at least one order on one day, or
// from the first of a month to a day of that month, from the rollups.
func (db *DB) ActiveStores(ctx context.Context, from, to string) (int64, error) {
	var n int64
	var err error
	switch {
	case from == to:
		err = db.db.QueryRowContext(ctx, `SELECT coalesce(max(active_stores), 0) FROM metrics_daily WHERE date = ?`, from).Scan(&n)
	case len(from) == len(fleet.DayLayout) && from[8:] == "01" && from[:7] == to[:7]:
		err = db.db.QueryRowContext(ctx, `SELECT count(*) FROM metrics_monthly WHERE month = ? AND first_order_date <= ?`, from[:7], to).Scan(&n)
	default: // any other range reads the metrics table
		err = db.db.QueryRowContext(ctx, `SELECT count(DISTINCT database_name) FROM metrics WHERE date BETWEEN ? AND ? AND total_orders > 0`, from, to).Scan(&n)
	}
	return n, err
}

// StoreMonth is one store's totals for a month, with its revenue over the
// days it is compared with.
type StoreMonth struct {
	Name        string `json:"database_name"`
	Revenue     int64  `json:"revenue"`
	Orders      int64  `json:"orders"`
	PrevRevenue int64  `json:"previous_revenue"`
	HasPrev     bool   `json:"has_previous"`
}

// rankingSorts is the SQL of each order of MonthRanking (NULLs, stores
// without a previous period, sort last either way).
var rankingSorts = map[fleet.RankBy]string{
	fleet.RankByRevenue: "m.total_revenue",
	fleet.RankByOrders:  "m.total_orders",
	fleet.RankByAOV:     "CASE WHEN m.total_orders > 0 THEN m.total_revenue * 1.0 / m.total_orders ELSE 0 END",
	fleet.RankByChange:  "CASE WHEN p.total_revenue > 0 THEN (m.total_revenue - p.total_revenue) * 1.0 / p.total_revenue END",
	fleet.RankByName:    "m.database_name",
}

// The ranking's previous period: a whole month reads its rollup; the
// first days of one (a month in progress compares with the same days of
// the month before) sum the metrics table through metrics_tenant_date,
// at most a month of rows per store. The revenue order needs them for
// the page's stores only; the change order for every store of the month.
const (
	rankingWhole = `SELECT m.database_name, m.total_revenue, m.total_orders, p.total_revenue
		FROM metrics_monthly m LEFT JOIN metrics_monthly p ON p.month = ? AND p.database_name = m.database_name AND p.days > 0
		WHERE m.month = ? AND m.days > 0
		ORDER BY %s, m.database_name
		LIMIT ? OFFSET ?`
	rankingDaysSum = `(SELECT sum(coalesce(x.total_revenue, 0)) FROM metrics x
		WHERE x.database_name = m.database_name AND x.date BETWEEN ? AND ?)`
	rankingDaysPage = `WITH page AS MATERIALIZED (SELECT m.database_name, m.total_revenue, m.total_orders
			FROM metrics_monthly m WHERE m.month = ? AND m.days > 0
			ORDER BY %[1]s, m.database_name LIMIT ? OFFSET ?)
		SELECT m.database_name, m.total_revenue, m.total_orders, ` + rankingDaysSum + `
		FROM page m ORDER BY %[1]s, m.database_name`
	rankingDaysAll = `WITH p AS MATERIALIZED (SELECT m.database_name, ` + rankingDaysSum + ` AS total_revenue
			FROM metrics_monthly m WHERE m.month = ? AND m.days > 0)
		SELECT m.database_name, m.total_revenue, m.total_orders, p.total_revenue
		FROM metrics_monthly m JOIN p ON p.database_name = m.database_name
		WHERE m.month = ? AND m.days > 0
		ORDER BY %s, m.database_name
		LIMIT ? OFFSET ?`
)

// MonthRanking returns a page of the stores with metrics in month
// (YYYY-MM), each with its revenue over the days prevFrom..prevTo
// (YYYY-MM-DD, within the month before), ordered by sort (ties by name),
// and how many there are.
// The revenue order is seed 000's "top performing stores"
// (SUM(total_revenue) per store over the month).
func (db *DB) MonthRanking(ctx context.Context, month, prevFrom, prevTo string, sort fleet.RankBy, desc bool, limit, offset int) ([]StoreMonth, int64, error) {
	if _, err := fleet.ParseRankBy(string(sort)); err != nil {
		return nil, 0, err
	}
	expr := rankingSorts[sort]
	order := expr + " ASC"
	if desc {
		order = expr + " DESC"
	}
	if sort == fleet.RankByChange { // stores without a previous period last, either way
		order = "(" + expr + ") IS NULL, " + order
	}
	var total int64
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM metrics_monthly WHERE month = ? AND days > 0`, month).Scan(&total); err != nil {
		return nil, 0, err
	}
	var query string
	var args []any
	switch prevMonth := prevFrom[:min(7, len(prevFrom))]; {
	case wholeMonth(prevFrom, prevTo):
		query, args = fmt.Sprintf(rankingWhole, order), []any{prevMonth, month, limit, offset}
	case sort == fleet.RankByChange:
		query, args = fmt.Sprintf(rankingDaysAll, order), []any{prevFrom, prevTo, month, month, limit, offset}
	default:
		query, args = fmt.Sprintf(rankingDaysPage, order), []any{month, limit, offset, prevFrom, prevTo}
	}
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []StoreMonth
	for rows.Next() {
		var s StoreMonth
		var prev sql.NullInt64
		if err := rows.Scan(&s.Name, &s.Revenue, &s.Orders, &prev); err != nil {
			return nil, 0, err
		}
		s.PrevRevenue, s.HasPrev = prev.Int64, prev.Valid
		out = append(out, s)
	}
	return out, total, rows.Err()
}

// wholeMonth reports whether from..to (YYYY-MM-DD) is one whole month.
func wholeMonth(from, to string) bool {
	f, err := time.Parse(fleet.DayLayout, from)
	if err != nil || f.Day() != 1 {
		return false
	}
	return f.AddDate(0, 1, -1).Format(fleet.DayLayout) == to
}

// TenantMetrics returns one tenant's metrics rows from..to, oldest first.
func (db *DB) TenantMetrics(ctx context.Context, tenant, from, to string) ([]fleet.Metrics, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT date || '', coalesce(total_orders, 0), coalesce(total_revenue, 0),
		coalesce(active_carts, 0), coalesce(new_products, 0)
		FROM metrics WHERE database_name = ? AND date BETWEEN ? AND ? ORDER BY date`, tenant, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Metrics
	for rows.Next() {
		m := fleet.Metrics{Tenant: tenant}
		if err := rows.Scan(&m.Date, &m.Orders, &m.Revenue, &m.ActiveCarts, &m.NewProducts); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

const generationKey = "metrics.generation"

const generationQuery = `SELECT value FROM kv WHERE key = ?`

// MetricsGeneration changes whenever a collection changes the metrics
// table: a cache of report results is fresh while it stays the same.
func (db *DB) MetricsGeneration(ctx context.Context) (int64, error) {
	var v string
	err := db.generationStmt.QueryRowContext(db.lookup(ctx), generationKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

func bumpGeneration(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO kv(key, value) VALUES(?, '1')
		ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1`, generationKey)
	return err
}

// DayAverage is the average revenue per store on one day.
type DayAverage struct {
	Date    string  `json:"date"`
	Stores  int64   `json:"stores"`
	Revenue int64   `json:"total_revenue"`
	Average float64 `json:"avg_store_revenue"`
}

// DailyAverages returns, for the days from..to with metrics (oldest
// first), seed 000's average revenue per store: ROUND(AVG(total_revenue),
// 2) over the stores with a row that day. AVG of integers is their sum
// over their count as doubles, which is what the rollup divides here, so
// the numbers are seed 000's to the last digit.
func (db *DB) DailyAverages(ctx context.Context, from, to string) ([]DayAverage, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT date, stores, total_revenue, ROUND(CAST(total_revenue AS REAL) / stores, 2)
		FROM metrics_daily WHERE date BETWEEN ? AND ? AND stores > 0 ORDER BY date`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DayAverage
	for rows.Next() {
		var d DayAverage
		if err := rows.Scan(&d.Date, &d.Stores, &d.Revenue, &d.Average); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// HasMetrics reports whether any collection has written metrics.
func (db *DB) HasMetrics(ctx context.Context) (bool, error) {
	var ok bool
	err := db.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM metrics_daily WHERE stores > 0)`).Scan(&ok)
	return ok, err
}

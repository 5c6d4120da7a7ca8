package central

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// ActivityDays is the length of the tenant list's business window: the
// days ending today (UTC, by the console's clock: see WithClock).
const ActivityDays = 30

const activityDayKey = "tenant_activity_day"

// activityWindow is the first and last day of the window ending on day.
func activityWindow(day string) (from, to string) {
	d, err := time.Parse(fleet.DayLayout, day)
	if err != nil {
		return day, day
	}
	return d.AddDate(0, 0, 1-ActivityDays).Format(fleet.DayLayout), day
}

// ensureActivity moves the tenant_activity window to today when the day
// has changed since it was last moved (by this or any replica). Once a day
// checked, a replica only compares strings.
func (db *DB) ensureActivity(ctx context.Context) error {
	today := db.now().UTC().Format(fleet.DayLayout)
	if db.windowCurrent(ctx, today) {
		return nil
	}
	err := db.tx(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
		var day string
		err := tx.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = ?`, activityDayKey).Scan(&day)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if day == today {
			return nil
		}
		from, to := activityWindow(today)
		if _, err := tx.ExecContext(ctx, `UPDATE tenant_activity SET orders_30d = 0, revenue_30d = 0, spark = ''
			WHERE orders_30d != 0 OR revenue_30d != 0 OR spark != ''`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tenant_activity(name, orders_30d, revenue_30d, spark) `+activityWindowSelect(``)+`
			ON CONFLICT(name) DO UPDATE SET orders_30d = excluded.orders_30d, revenue_30d = excluded.revenue_30d, spark = excluded.spark`,
			from, to); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO kv(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
			activityDayKey, today)
		return err
	})
	if err != nil {
		return fmt.Errorf("move the tenant activity window to %s: %w", today, err)
	}
	db.activityDay.Store(today)
	return nil
}

// windowCurrent reports whether the stored activity window ends today,
// moved by this replica or another; it remembers a yes, so that after the
// first look a replica only compares strings.
func (db *DB) windowCurrent(ctx context.Context, today string) bool {
	if d, _ := db.activityDay.Load().(string); d == today {
		return true
	}
	var day string
	if err := db.db.QueryRowContext(db.lookup(ctx), `SELECT value FROM kv WHERE key = ?`, activityDayKey).Scan(&day); err != nil || day != today {
		return false
	}
	db.activityDay.Store(today)
	return true
}

// activityWindowSelect sums the window ?1..?2 per tenant, for the tenants
// that where (a condition on database_name, or "") keeps.
func activityWindowSelect(where string) string {
	if where != "" {
		where = " AND " + where
	}
	return `SELECT database_name, coalesce(sum(total_orders), 0), coalesce(sum(total_revenue), 0),
		coalesce(group_concat(CASE WHEN total_orders > 0
			THEN CAST(julianday(date) - julianday(?1) AS INTEGER) || ':' || total_orders END, ','), '')
		FROM metrics WHERE date BETWEEN ?1 AND ?2` + where + ` GROUP BY database_name`
}

// updateActivity keeps the tenant_activity rows of the tenants a
// collection batch changed exact: window sums for those with a changed day
// in the window (inWindow lists them, given the window), last order day
// for those whose days with orders changed (toggled).
func updateActivity(ctx context.Context, tx *sql.Tx, inWindow func(from, to string) []string, toggled []string) error {
	var day string
	err := tx.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = ?`, activityDayKey).Scan(&day)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if day != "" { // else the first reader fills the window
		from, to := activityWindow(day)
		for chunk := range chunks(inWindow(from, to), 500) {
			names := jsonNames(chunk)
			if _, err := tx.ExecContext(ctx, `UPDATE tenant_activity SET orders_30d = 0, revenue_30d = 0, spark = ''
				WHERE name IN (SELECT value FROM json_each(?))`, names); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO tenant_activity(name, orders_30d, revenue_30d, spark) `+
				activityWindowSelect(`database_name IN (SELECT value FROM json_each(?3))`)+`
				ON CONFLICT(name) DO UPDATE SET orders_30d = excluded.orders_30d, revenue_30d = excluded.revenue_30d, spark = excluded.spark`,
				from, to, names); err != nil {
				return err
			}
		}
	}
	for chunk := range chunks(toggled, 500) {
		names := jsonNames(chunk)
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO tenant_activity(name) SELECT value FROM json_each(?)`, names); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tenant_activity SET last_order_date =
			(SELECT max(date || '') FROM metrics WHERE database_name = tenant_activity.name AND total_orders > 0)
			WHERE name IN (SELECT value FROM json_each(?))`, names); err != nil {
			return err
		}
	}
	return nil
}

// jsonNames is a JSON array of names, for json_each: one parameter
// however many names.
func jsonNames(names []string) string {
	b, _ := json.Marshal(names)
	return string(b)
}

// parseSpark turns stored "i:n" pairs into ActivityDays daily counts.
func parseSpark(s string) []int64 {
	out := make([]int64, ActivityDays)
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, ",")
		i, n, _ := strings.Cut(pair, ":")
		d, err1 := strconv.Atoi(i)
		v, err2 := strconv.ParseInt(n, 10, 64)
		if err1 == nil && err2 == nil && d >= 0 && d < ActivityDays {
			out[d] = v
		}
	}
	return out
}

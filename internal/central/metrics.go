package central

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// CollectRun is one metrics collection.
type CollectRun struct {
	ID          int64     `json:"run_id"`
	JobID       int64     `json:"job_id,omitempty"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Trigger     string    `json:"trigger"`
	StartedBy   string    `json:"started_by"`
	Shard       string    `json:"shard,omitempty"` // "i/n" of a sharded collection, "" for the whole fleet
	State       string    `json:"state"`
	Tenants     int64     `json:"tenants"`
	OK          int64     `json:"ok"`
	Failed      int64     `json:"failed"`
	Skipped     int64     `json:"skipped"`
	RowsWritten int64     `json:"rows_written"`
	Error       string    `json:"error,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
}

// Duration is how long the run took (so far).
func (r *CollectRun) Duration() time.Duration {
	end := r.FinishedAt
	if end.IsZero() {
		end = time.Now()
	}
	return end.Sub(r.StartedAt)
}

// Run states, as fleet says them.
const (
	RunQueued    = fleet.RunQueued
	RunRunning   = fleet.RunRunning
	RunSucceeded = fleet.RunSucceeded
	RunFailed    = fleet.RunFailed
)

const runCols = `id, job_id, from_day, to_day, trigger, started_by, shard, state, tenants, ok, failed, skipped, rows_written, error, started_at, finished_at`

func scanRun(s scanner) (CollectRun, error) {
	var r CollectRun
	err := s.Scan(&r.ID, &r.JobID, &r.From, &r.To, &r.Trigger, &r.StartedBy, &r.Shard, &r.State, &r.Tenants, &r.OK, &r.Failed,
		&r.Skipped, &r.RowsWritten, &r.Error, nullTime{&r.StartedAt}, nullTime{&r.FinishedAt})
	return r, err
}

// StartRun records the start of a collection; a resumed job continues the
// run it started, with its counters reset.
func (db *DB) StartRun(ctx context.Context, r *CollectRun) error {
	now := db.now()
	if r.JobID != 0 {
		var id int64
		err := db.db.QueryRowContext(ctx, `SELECT id FROM collection_runs WHERE job_id = ?`, r.JobID).Scan(&id)
		if err == nil {
			r.ID, r.State, r.StartedAt = id, RunRunning, now
			_, err = db.db.ExecContext(ctx, `UPDATE collection_runs SET state = ?, tenants = 0, ok = 0, failed = 0, skipped = 0,
				rows_written = 0, error = '', started_at = ?, finished_at = NULL WHERE id = ?`, RunRunning, ts(now), id)
			if err == nil {
				_, err = db.db.ExecContext(ctx, `DELETE FROM collection_results WHERE run_id = ?`, id)
			}
			return err
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	res, err := db.db.ExecContext(ctx, `INSERT INTO collection_runs(job_id, from_day, to_day, trigger, started_by, shard, state, started_at)
		VALUES(?,?,?,?,?,?,?,?)`, r.JobID, r.From, r.To, r.Trigger, r.StartedBy, r.Shard, RunRunning, ts(now))
	if err != nil {
		return err
	}
	r.State, r.StartedAt = RunRunning, now
	r.ID, err = res.LastInsertId()
	return err
}

// QueueCollection queues a collection job and its run row in one
// transaction. At most one collection of each shard may be queued or
// running (a unique index on the job's shard, across every replica), and
// the ones at once must split the fleet the same way, so no tenant is
// collected twice at a time: a second is a conflict naming the first.
func (db *DB) QueueCollection(ctx context.Context, j *fleet.Job, r *CollectRun) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var other CollectRun
		err := tx.QueryRowContext(ctx, `SELECT r.id, r.shard FROM collection_runs r JOIN jobs j ON j.id = r.job_id
			WHERE j.state IN (?, ?) ORDER BY r.id DESC LIMIT 1`, fleet.JobQueued, fleet.JobRunning).Scan(&other.ID, &other.Shard)
		if err == nil && shardCount(other.Shard) != shardCount(r.Shard) {
			return fleet.Errorf(fleet.ECONFLICT, "Collection run %d (%s) is queued or running, and %s would collect some of its tenants at the same time: wait for it to finish, or use the same number of shards.",
				other.ID, shardText(other.Shard), shardText(r.Shard))
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := db.now()
		id, err := insertJob(ctx, tx, now, j)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO collection_runs(job_id, from_day, to_day, trigger, started_by, shard, state, started_at)
			VALUES(?,?,?,?,?,?,?,?)`, id, r.From, r.To, r.Trigger, r.StartedBy, r.Shard, RunQueued, ts(now))
		if err != nil {
			return err
		}
		r.JobID, r.State, r.StartedAt = id, RunQueued, now
		r.ID, err = res.LastInsertId()
		return err
	})
	if err != nil && tenantdb.Code(err) == fleet.ECONFLICT {
		var running int64
		_ = db.db.QueryRowContext(ctx, `SELECT r.id FROM collection_runs r JOIN jobs j ON j.id = r.job_id
			WHERE j.state IN (?, ?) AND r.shard = ? ORDER BY r.id DESC LIMIT 1`, fleet.JobQueued, fleet.JobRunning, r.Shard).Scan(&running)
		if r.Shard != "" {
			return fleet.Errorf(fleet.ECONFLICT, "A collection of shard %s is already queued or running (run %d); try again when it has finished.", r.Shard, running)
		}
		return fleet.Errorf(fleet.ECONFLICT, "A collection is already queued or running (run %d); try again when it has finished.", running)
	}
	return err
}

// shardCount is n of an "i/n" shard, "" for the whole fleet.
func shardCount(shard string) string {
	_, n, _ := strings.Cut(shard, "/")
	return n
}

func shardText(shard string) string {
	if shard == "" {
		return "the whole fleet"
	}
	return "shard " + shard
}

// ActiveRun returns the queued or running collection, nil if none.
func (db *DB) ActiveRun(ctx context.Context) (*CollectRun, error) {
	r, err := scanRun(db.db.QueryRowContext(ctx, `SELECT `+runCols+` FROM collection_runs WHERE state IN (?, ?) ORDER BY id DESC LIMIT 1`,
		RunQueued, RunRunning))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &r, err
}

// LastRun returns the newest run, nil if none.
func (db *DB) LastRun(ctx context.Context) (*CollectRun, error) {
	r, err := scanRun(db.db.QueryRowContext(db.lookup(ctx), `SELECT `+runCols+` FROM collection_runs ORDER BY id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &r, err
}

// LastRunOf returns the newest run of one shard ("" for the whole
// fleet), nil if none.
func (db *DB) LastRunOf(ctx context.Context, shard string) (*CollectRun, error) {
	r, err := scanRun(db.db.QueryRowContext(ctx, `SELECT `+runCols+` FROM collection_runs WHERE shard = ? ORDER BY id DESC LIMIT 1`, shard))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &r, err
}

// FinishRun records the end of a run.
func (db *DB) FinishRun(ctx context.Context, id int64, tenants int64, errMsg string) error {
	state := RunSucceeded
	if errMsg != "" {
		state = RunFailed
	}
	_, err := db.db.ExecContext(context.WithoutCancel(ctx), `UPDATE collection_runs SET state = ?, tenants = ?, error = ?, finished_at = ? WHERE id = ?`,
		state, tenants, errMsg, ts(db.now()), id)
	return err
}

// CollectRunByID returns one run.
func (db *DB) CollectRunByID(ctx context.Context, id int64) (*CollectRun, error) {
	r, err := scanRun(db.db.QueryRowContext(ctx, `SELECT `+runCols+` FROM collection_runs WHERE id = ?`, id))
	if err != nil {
		return nil, translate(err, fmt.Sprintf("Collection run %d", id))
	}
	return &r, nil
}

// CollectRunByJob returns the run a job started, ENOTFOUND if none yet.
func (db *DB) CollectRunByJob(ctx context.Context, jobID int64) (*CollectRun, error) {
	r, err := scanRun(db.db.QueryRowContext(ctx, `SELECT `+runCols+` FROM collection_runs WHERE job_id = ?`, jobID))
	if err != nil {
		return nil, translate(err, fmt.Sprintf("Collection run of job %d", jobID))
	}
	return &r, nil
}

// CollectRuns lists runs newest first; offset pages.
func (db *DB) CollectRuns(ctx context.Context, limit, offset int) ([]CollectRun, int64, error) {
	var total int64
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM collection_runs`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT `+runCols+` FROM collection_runs ORDER BY id DESC LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []CollectRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// CollectResult is what happened to one tenant in a run.
type CollectResult struct {
	Tenant   string        `json:"tenant"`
	OK       bool          `json:"ok"`
	Error    string        `json:"error,omitempty"`
	Attempts int           `json:"attempts"`
	Duration time.Duration `json:"duration_ns"`
}

// RunResults lists a run's results, failures first.
func (db *DB) RunResults(ctx context.Context, runID int64, failedOnly bool, limit int) ([]CollectResult, error) {
	q := `SELECT tenant, ok, error, attempts, duration_us FROM collection_results WHERE run_id = ?`
	if failedOnly {
		q += ` AND ok = 0`
	}
	q += ` ORDER BY ok, tenant LIMIT ?`
	rows, err := db.db.QueryContext(ctx, q, runID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CollectResult
	for rows.Next() {
		var r CollectResult
		var us int64
		if err := rows.Scan(&r.Tenant, &r.OK, &r.Error, &r.Attempts, &us); err != nil {
			return nil, err
		}
		r.Duration = time.Duration(us) * time.Microsecond
		out = append(out, r)
	}
	return out, rows.Err()
}

// CollectState is how a tenant looked when last collected.
type CollectState struct {
	Tenant      string
	Fingerprint string
	From, To    string
	Version     int64  // the tenant's schema version, mirrored in the registry; -1 if unknown
	Cookie      uint32 // its schema cookie when the version was read; 0 if unknown
	ReadOn      string // the day (UTC) the version was read; written as the day of writing
}

func chunks[T any](s []T, n int) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// CollectBatch is what one transaction writes: the metrics of the tenants
// collected, their results and new states, and the run's counters.
type CollectBatch struct {
	RunID    int64
	From, To string
	Metrics  []fleet.Metrics // every day from..to of each collected tenant
	Results  []CollectResult // collected and failed tenants
	States   []CollectState  // collected tenants' fingerprints
	Skipped  int             // tenants skipped as unchanged since this batch's predecessor
}

type dayTotals struct{ stores, orders, revenue, carts, products, active int64 }

func (d *dayTotals) add(m fleet.Metrics, sign int64) {
	d.stores += sign
	if m.Orders > 0 {
		d.active += sign
	}
	d.orders += sign * m.Orders
	d.revenue += sign * m.Revenue
	d.carts += sign * m.ActiveCarts
	d.products += sign * m.NewProducts
}

type monthKey struct{ month, tenant string }

// WriteCollectBatch writes one batch in one transaction. Metrics are
// upserted idempotently (seed 000's ON CONFLICT … DO UPDATE; unchanged
// rows are not rewritten), and the daily and monthly rollups move by
// exactly the difference between the old and the new rows, so they always
// equal sums over the metrics table. It returns the metrics rows changed.
func (db *DB) WriteCollectBatch(ctx context.Context, b CollectBatch) (int64, error) {
	var changed int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		old, err := oldMetrics(ctx, tx, b)
		if err != nil {
			return err
		}
		daily := map[string]*dayTotals{}
		monthly := map[monthKey]*dayTotals{}
		total := func(m map[string]*dayTotals, k string) *dayTotals {
			if m[k] == nil {
				m[k] = &dayTotals{}
			}
			return m[k]
		}
		toggled := map[monthKey]bool{}
		var upserts []fleet.Metrics
		for _, m := range b.Metrics {
			o, had := old[[2]string{m.Date, m.Tenant}]
			if had && o == m {
				continue
			}
			upserts = append(upserts, m)
			mk := monthKey{m.Date[:7], m.Tenant}
			if monthly[mk] == nil {
				monthly[mk] = &dayTotals{}
			}
			total(daily, m.Date).add(m, 1)
			monthly[mk].add(m, 1)
			if had {
				total(daily, m.Date).add(o, -1)
				monthly[mk].add(o, -1)
			}
			if (m.Orders > 0) != (had && o.Orders > 0) {
				toggled[mk] = true // the store's days with orders changed
			}
		}
		changed = int64(len(upserts))
		multi := &multiRow{tx: tx}
		defer multi.close()
		for chunk := range chunks(upserts, metricsChunk) {
			args := make([]any, 0, len(chunk)*6)
			for _, m := range chunk {
				args = append(args, m.Date, m.Tenant, m.Orders, m.Revenue, m.ActiveCarts, m.NewProducts)
			}
			if err := multi.exec(ctx, len(chunk) == metricsChunk, `INSERT INTO metrics (date, database_name, total_orders, total_revenue, active_carts, new_products)
				VALUES `+strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?),", len(chunk)), ",")+`
				ON CONFLICT (date, database_name) DO UPDATE SET
				total_orders = excluded.total_orders, total_revenue = excluded.total_revenue,
				active_carts = excluded.active_carts, new_products = excluded.new_products,
				created_at = CURRENT_TIMESTAMP`, args); err != nil {
				return fmt.Errorf("write metrics: %w", err)
			}
		}
		if err := addRollups(ctx, multi, `INSERT INTO metrics_daily (date, stores, total_orders, total_revenue, active_carts, new_products, active_stores)
			VALUES %s ON CONFLICT (date) DO UPDATE SET
			stores = stores + excluded.stores, total_orders = total_orders + excluded.total_orders,
			total_revenue = total_revenue + excluded.total_revenue, active_carts = active_carts + excluded.active_carts,
			new_products = new_products + excluded.new_products, active_stores = active_stores + excluded.active_stores`, daily, func(day string) []any { return []any{day} }); err != nil {
			return fmt.Errorf("update daily rollup: %w", err)
		}
		if err := addRollups(ctx, multi, `INSERT INTO metrics_monthly (month, database_name, days, total_orders, total_revenue, active_carts, new_products, active_days)
			VALUES %s ON CONFLICT (month, database_name) DO UPDATE SET
			days = days + excluded.days, total_orders = total_orders + excluded.total_orders,
			total_revenue = total_revenue + excluded.total_revenue, active_carts = active_carts + excluded.active_carts,
			new_products = new_products + excluded.new_products, active_days = active_days + excluded.active_days`, monthly, func(k monthKey) []any { return []any{k.month, k.tenant} }); err != nil {
			return fmt.Errorf("update monthly rollup: %w", err)
		}
		if err := firstOrderDates(ctx, tx, toggled); err != nil {
			return fmt.Errorf("update monthly rollup: %w", err)
		}
		if err := updateActivity(ctx, tx, func(from, to string) []string {
			return changedTenants(upserts, func(m fleet.Metrics) bool { return m.Date >= from && m.Date <= to })
		}, toggledTenants(toggled)); err != nil {
			return fmt.Errorf("update tenant activity: %w", err)
		}
		if changed > 0 {
			if err := bumpGeneration(ctx, tx); err != nil {
				return err
			}
		}
		return writeResults(ctx, tx, db.now(), b, changed)
	})
	return changed, err
}

// Rows per multi-row statement: metrics upserts and rollup additions.
const metricsChunk, rollupChunk = 150, 100

// multiRow runs a transaction's multi-row statements, preparing each text
// of a full chunk once: a statement of 150 rows costs a parse of its own
// (900 placeholders), and a backfill's transaction runs the same text a
// hundred times (docs/BENCHMARKS.md). Partial chunks run once each.
type multiRow struct {
	tx       *sql.Tx
	prepared map[string]*sql.Stmt
}

func (m *multiRow) exec(ctx context.Context, full bool, query string, args []any) error {
	if !full {
		_, err := m.tx.ExecContext(ctx, query, args...)
		return err
	}
	st := m.prepared[query]
	if st == nil {
		var err error
		if st, err = m.tx.PrepareContext(ctx, query); err != nil {
			return err
		}
		if m.prepared == nil {
			m.prepared = map[string]*sql.Stmt{}
		}
		m.prepared[query] = st
	}
	_, err := st.ExecContext(ctx, args...)
	return err
}

func (m *multiRow) close() {
	for _, st := range m.prepared {
		st.Close()
	}
}

// changedTenants lists, once each, the tenants of the rows keep keeps.
func changedTenants(rows []fleet.Metrics, keep func(fleet.Metrics) bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range rows {
		if !seen[m.Tenant] && keep(m) {
			seen[m.Tenant] = true
			out = append(out, m.Tenant)
		}
	}
	return out
}

// toggledTenants lists, once each, the tenants of toggled months.
func toggledTenants(toggled map[monthKey]bool) []string {
	seen := map[string]bool{}
	var out []string
	for k := range toggled {
		if !seen[k.tenant] {
			seen[k.tenant] = true
			out = append(out, k.tenant)
		}
	}
	return out
}

// addRollups adds totals to a rollup table, many rows per statement:
// query has a %s where the VALUES rows go, and key gives a row's key
// columns, which come before the five totals.
func addRollups[K comparable](ctx context.Context, multi *multiRow, query string, totals map[K]*dayTotals, key func(K) []any) error {
	type row struct {
		k K
		d *dayTotals
	}
	all := make([]row, 0, len(totals))
	for k, d := range totals {
		all = append(all, row{k, d})
	}
	for chunk := range chunks(all, rollupChunk) {
		var args []any
		for _, r := range chunk {
			args = append(append(args, key(r.k)...), r.d.stores, r.d.orders, r.d.revenue, r.d.carts, r.d.products, r.d.active)
		}
		one := "(" + placeholders(len(args)/len(chunk)) + "),"
		if err := multi.exec(ctx, len(chunk) == rollupChunk, fmt.Sprintf(query, strings.TrimSuffix(strings.Repeat(one, len(chunk)), ",")), args); err != nil {
			return err
		}
	}
	return nil
}

// firstOrderDates sets, for each store and month whose days with orders
// changed, the first day of the month with orders, from the metrics
// table through its (store, date) index: one statement per month.
func firstOrderDates(ctx context.Context, tx *sql.Tx, toggled map[monthKey]bool) error {
	byMonth := map[string][]any{}
	for k := range toggled {
		byMonth[k.month] = append(byMonth[k.month], k.tenant)
	}
	for month, names := range byMonth {
		for chunk := range chunks(names, 500) {
			if _, err := tx.ExecContext(ctx, `UPDATE metrics_monthly SET first_order_date =
				(SELECT min(m.date || '') FROM metrics m WHERE m.database_name = metrics_monthly.database_name
					AND m.date BETWEEN ?1 || '-01' AND ?1 || '-31' AND m.total_orders > 0)
				WHERE month = ?1 AND database_name IN (`+placeholders(len(chunk))+`)`, append([]any{month}, chunk...)...); err != nil {
				return err
			}
		}
	}
	return nil
}

// oldMetrics reads the rows a batch may replace. The date is read as an
// expression because the driver turns a column declared DATE into a
// time.Time.
func oldMetrics(ctx context.Context, tx *sql.Tx, b CollectBatch) (map[[2]string]fleet.Metrics, error) {
	seen := map[string]bool{}
	var names []any
	for _, m := range b.Metrics {
		if !seen[m.Tenant] {
			seen[m.Tenant] = true
			names = append(names, m.Tenant)
		}
	}
	old := make(map[[2]string]fleet.Metrics, len(b.Metrics))
	for chunk := range chunks(names, 500) {
		rows, err := tx.QueryContext(ctx, `SELECT date || '', database_name, coalesce(total_orders,0), coalesce(total_revenue,0),
			coalesce(active_carts,0), coalesce(new_products,0) FROM metrics
			WHERE database_name IN (`+placeholders(len(chunk))+`) AND date BETWEEN ? AND ?`, append(chunk, b.From, b.To)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var m fleet.Metrics
			if err := rows.Scan(&m.Date, &m.Tenant, &m.Orders, &m.Revenue, &m.ActiveCarts, &m.NewProducts); err != nil {
				rows.Close()
				return nil, err
			}
			old[[2]string{m.Date, m.Tenant}] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return old, nil
}

func writeResults(ctx context.Context, tx *sql.Tx, now time.Time, b CollectBatch, changed int64) error {
	var ok, failed int64
	for chunk := range chunks(b.Results, 150) {
		args := make([]any, 0, len(chunk)*6)
		for _, r := range chunk {
			args = append(args, b.RunID, r.Tenant, r.OK, r.Error, r.Attempts, r.Duration.Microseconds())
			if r.OK {
				ok++
			} else {
				failed++
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO collection_results(run_id, tenant, ok, error, attempts, duration_us) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?),", len(chunk)), ","), args...); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	}
	for chunk := range chunks(b.States, 150) {
		args := make([]any, 0, len(chunk)*8)
		names := make([]any, 0, len(chunk)+1)
		names = append(names, ts(now))
		for _, s := range chunk {
			args = append(args, s.Tenant, s.Fingerprint, s.From, s.To, ts(now), int64(s.Cookie), s.Version, now.UTC().Format(fleet.DayLayout))
			names = append(names, s.Tenant)
		}
		// A state without a version (the collector did not read it: the
		// schema cookie was unchanged) keeps the version, cookie and day
		// read before.
		if _, err := tx.ExecContext(ctx, `INSERT INTO collect_state(tenant, fingerprint, from_day, to_day, collected_at, schema_cookie, schema_version, schema_read_on) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?),", len(chunk)), ",")+`
			ON CONFLICT (tenant) DO UPDATE SET fingerprint = excluded.fingerprint, from_day = excluded.from_day,
				to_day = excluded.to_day, collected_at = excluded.collected_at,
				schema_cookie = CASE WHEN excluded.schema_version >= 0 THEN excluded.schema_cookie ELSE schema_cookie END,
				schema_version = CASE WHEN excluded.schema_version >= 0 THEN excluded.schema_version ELSE schema_version END,
				schema_read_on = CASE WHEN excluded.schema_version >= 0 THEN excluded.schema_read_on ELSE schema_read_on END`, args...); err != nil {
			return fmt.Errorf("write collection state: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tenants SET last_collected_at = ? WHERE name IN (`+placeholders(len(chunk))+`)`, names...); err != nil {
			return err
		}
	}
	// The registry mirrors each collected tenant's schema version; the
	// update writes only rows whose version changed.
	var mirror *sql.Stmt
	for _, s := range b.States {
		if s.Version < 0 {
			continue
		}
		if mirror == nil {
			var err error
			if mirror, err = tx.PrepareContext(ctx, `UPDATE tenants SET schema_version = ? WHERE name = ? AND schema_version != ?`); err != nil {
				return err
			}
			defer mirror.Close()
		}
		if _, err := mirror.ExecContext(ctx, s.Version, s.Tenant, s.Version); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE collection_runs SET ok = ok + ?, failed = failed + ?, skipped = skipped + ?,
		rows_written = rows_written + ? WHERE id = ?`, ok, failed, b.Skipped, changed, b.RunID)
	return err
}

package central

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// tenantCols are a registry row (tenants t) and its activity
// (tenant_activity a, which every tenant has but a LEFT JOIN tolerates
// missing).
const tenantCols = `t.name, t.platform, t.platform_id, t.url, t.status, t.schema_version, t.size_bytes, t.parent,
	t.branched_at, t.created_at, t.last_seen_at, t.last_write_at, t.archived_at, t.error, t.job_id, t.migration_error,
	coalesce(a.orders_30d, 0), coalesce(a.revenue_30d, 0), a.last_order_date, coalesce(a.spark, '')`

type scanner interface{ Scan(...any) error }

func scanTenant(s scanner) (fleet.Tenant, error) {
	var t fleet.Tenant
	var last sql.NullString
	var spark string
	err := s.Scan(&t.Name, &t.Platform, &t.PlatformID, &t.URL, &t.Status, &t.SchemaVersion, &t.SizeBytes, &t.Parent,
		nullTime{&t.BranchedAt}, nullTime{&t.CreatedAt}, nullTime{&t.LastSeenAt}, nullTime{&t.LastWriteAt},
		nullTime{&t.ArchivedAt}, &t.Error, &t.JobID, &t.MigrationError, &t.Orders30d, &t.Revenue30d, &last, &spark)
	if last.Valid {
		t.LastOrderDate = &last.String
	}
	t.OrdersDaily = parseSpark(spark)
	return t, err
}

// Tenant returns one registry row. A name the registry lacks is first
// looked for on the platform (see OnUnknownTenant), so that a database
// dropped into place is found by whoever asks first, not only after the
// next rescan.
func (db *DB) Tenant(ctx context.Context, name string) (*fleet.Tenant, error) {
	t, err := db.tenant(ctx, name)
	if fleet.ErrorCode(err) == fleet.ENOTFOUND && db.unknown != nil && fleet.ValidateName(name) == nil && db.unknown(ctx, name) {
		t, err = db.tenant(ctx, name)
	}
	return t, err
}

// tenant reads one registry row. It never writes: it is called while a
// write transaction is open (a refused move reports the row's status), so
// moving the activity window here would wait on that transaction. While
// the stored window does not end today, the row's window figures are
// summed afresh (at most ActivityDays indexed metrics rows).
func (db *DB) tenant(ctx context.Context, name string) (*fleet.Tenant, error) {
	t, err := scanTenant(db.db.QueryRowContext(db.lookup(ctx), `SELECT `+tenantCols+`
		FROM tenants t LEFT JOIN tenant_activity a ON a.name = t.name WHERE t.name = ?`, name))
	if err != nil {
		return nil, translate(err, fmt.Sprintf("Tenant %q", name))
	}
	today := db.now().UTC().Format(fleet.DayLayout)
	if !db.windowCurrent(ctx, today) {
		from, to := activityWindow(today)
		var n, spark string
		t.Orders30d, t.Revenue30d = 0, 0
		err := db.db.QueryRowContext(db.lookup(ctx), activityWindowSelect(`database_name = ?3`), from, to, name).
			Scan(&n, &t.Orders30d, &t.Revenue30d, &spark)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		t.OrdersDaily = parseSpark(spark)
	}
	return &t, nil
}

// OnUnknownTenant sets what Tenant does with a valid name the registry
// lacks before answering not found: f looks for it on the platform,
// adopts it if it is there, and reports whether it did. Set it once,
// before the DB is shared.
func (db *DB) OnUnknownTenant(f func(ctx context.Context, name string) bool) { db.unknown = f }

// ForgetTenant removes a tenant's registry row, if its status is one of
// ifStatus: for a tenant whose database is gone with no copy kept, which
// nothing could restore. Its jobs, audit entries and metrics stay.
func (db *DB) ForgetTenant(ctx context.Context, name string, ifStatus ...string) error {
	args := []any{name}
	for _, s := range ifStatus {
		args = append(args, s)
	}
	res, err := db.db.ExecContext(ctx, `DELETE FROM tenants WHERE name = ? AND status IN (`+placeholders(len(ifStatus))+`)`, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fleet.Errorf(fleet.ECONFLICT, "Tenant %q changed meanwhile; it was not removed from the registry.", name)
	}
	return nil
}

// claimTenant inserts a registry row in state creating for a job that is
// about to make the tenant. A name held by any row other than a failed one
// is a conflict, with a message saying what holds it.
func claimTenant(ctx context.Context, tx *sql.Tx, t *fleet.Tenant) error {
	{
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM tenants WHERE name = ?`, t.Name).Scan(&status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case status == fleet.StatusFailed:
			if _, err := tx.ExecContext(ctx, `DELETE FROM tenants WHERE name = ?`, t.Name); err != nil {
				return err
			}
		case status == fleet.StatusArchived:
			return fleet.Errorf(fleet.ECONFLICT, "Tenant %q was deleted and is in the archive: restore it, or choose another name.", t.Name)
		case status == fleet.StatusMissing:
			return fleet.Errorf(fleet.ECONFLICT, "Tenant %q is registered but its database is missing: choose another name.", t.Name)
		default:
			return fleet.Errorf(fleet.ECONFLICT, "Tenant %q already exists (%s).", t.Name, status)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO tenants(name, platform, platform_id, url, status, schema_version,
			size_bytes, parent, branched_at, created_at, error, job_id) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
			t.Name, t.Platform, t.PlatformID, t.URL, t.Status, t.SchemaVersion, t.SizeBytes, t.Parent,
			ts(t.BranchedAt), ts(t.CreatedAt), t.Error, t.JobID)
		return translate(err, fmt.Sprintf("Tenant %q", t.Name))
	}
}

// TenantUpdate is a partial update of a registry row; nil fields stay.
type TenantUpdate struct {
	Status        *string
	PlatformID    *string
	URL           *string
	SchemaVersion *int64
	SizeBytes     *int64
	LastWriteAt   *time.Time
	ArchivedAt    *time.Time // zero time clears it
	Error         *string
	JobID         *int64
	// IfStatus, when set, makes the update apply only to a row in one of
	// these states, so that two actors cannot both move a tenant.
	IfStatus []string
}

// UpdateTenant applies u to the named row.
func (db *DB) UpdateTenant(ctx context.Context, name string, u TenantUpdate) error {
	return db.updateTenant(ctx, db.db, name, u)
}

// MoveTenant queues job j for the named tenant and applies u to its row
// (with the job's id) in one transaction: a crash between the two would
// leave a job that acts on a tenant whose row does not say so, such as a
// delete that archives a tenant the registry still calls ready.
func (db *DB) MoveTenant(ctx context.Context, j *fleet.Job, name string, u TenantUpdate) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		id, err := insertJob(ctx, tx, db.now(), j)
		if err != nil {
			return err
		}
		u.JobID = &id
		return db.updateTenant(ctx, tx, name, u)
	})
}

func (db *DB) updateTenant(ctx context.Context, ex execer, name string, u TenantUpdate) error {
	var sets []string
	var args []any
	add := func(col string, v any) { sets = append(sets, col+" = ?"); args = append(args, v) }
	if u.Status != nil {
		add("status", *u.Status)
	}
	if u.PlatformID != nil {
		add("platform_id", *u.PlatformID)
	}
	if u.URL != nil {
		add("url", *u.URL)
	}
	if u.SchemaVersion != nil {
		add("schema_version", *u.SchemaVersion)
	}
	if u.SizeBytes != nil {
		add("size_bytes", *u.SizeBytes)
	}
	if u.LastWriteAt != nil {
		add("last_write_at", ts(*u.LastWriteAt))
	}
	if u.ArchivedAt != nil {
		add("archived_at", ts(*u.ArchivedAt))
	}
	if u.Error != nil {
		add("error", *u.Error)
	}
	if u.JobID != nil {
		add("job_id", *u.JobID)
	}
	if len(sets) == 0 {
		return nil
	}
	q := `UPDATE tenants SET ` + strings.Join(sets, ", ") + ` WHERE name = ?`
	args = append(args, name)
	if len(u.IfStatus) > 0 {
		q += ` AND status IN (` + placeholders(len(u.IfStatus)) + `)`
		for _, s := range u.IfStatus {
			args = append(args, s)
		}
	}
	res, err := ex.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t, err := db.Tenant(ctx, name)
		if err != nil {
			return err
		}
		return fleet.Errorf(fleet.ECONFLICT, "Tenant %q is %s.", name, t.Status)
	}
	return nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// TenantFilter selects and orders a page of the registry.
type TenantFilter struct {
	Query  string // substring of the name
	Status string // "" for any
	Sort   string // a column from SortColumns; default name
	Desc   bool
	Limit  int
	Offset int
	// Prefix keeps names that start with it; After keeps names after it
	// (a cursor: with the name order, pages neither skip nor repeat a
	// tenant however the registry changes between them).
	Prefix string
	After  string
	// NoCount skips counting the matching rows (the total is then -1).
	NoCount bool
}

// SortColumns are the registry columns a list may be ordered by.
var SortColumns = []string{"name", "status", "schema_version", "created_at", "last_write_at", "size_bytes",
	"orders_30d", "revenue_30d", "last_order_date"}

// activitySort says which SortColumns are tenant_activity's.
var activitySort = map[string]bool{"orders_30d": true, "revenue_30d": true, "last_order_date": true}

// ListTenants returns one page of the registry and the number of rows
// matching the filter.
func (db *DB) ListTenants(ctx context.Context, f TenantFilter) ([]fleet.Tenant, int64, error) {
	var where []string
	var args []any
	if f.Query != "" {
		where = append(where, `instr(t.name, ?) > 0`)
		args = append(args, strings.ToLower(f.Query))
	}
	if f.Status != "" {
		where = append(where, `t.status = ?`)
		args = append(args, f.Status)
	}
	if f.Prefix != "" {
		// A range on the primary key; names are ASCII below 0x7f.
		where = append(where, `t.name >= ? AND t.name < ?`)
		args = append(args, f.Prefix, f.Prefix+"\x7f")
	}
	if f.After != "" {
		where = append(where, `t.name > ?`)
		args = append(args, f.After)
	}
	w := ""
	if len(where) > 0 {
		w = " WHERE " + strings.Join(where, " AND ")
	}
	total := int64(-1)
	if !f.NoCount {
		if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM tenants t`+w, args...).Scan(&total); err != nil {
			return nil, 0, err
		}
	}
	sort := "name"
	for _, c := range SortColumns {
		if c == f.Sort {
			sort = c
		}
	}
	dir := " ASC"
	if f.Desc {
		dir = " DESC"
	}
	// A sort by activity walks that column's index and joins each row's
	// tenant (CROSS JOIN keeps that order of the loops), stopping after
	// the page; the others walk the registry.
	from, table := ` FROM tenants t`, "t."
	order := table + sort + dir
	if activitySort[sort] {
		// Ties go the sort's way, so the index's order is the page's.
		from, table = ` FROM tenant_activity a CROSS JOIN tenants t ON t.name = a.name`, "a."
		order = table + sort + dir + ", a.name" + dir
	} else if sort != "name" {
		order += ", t.name" // stable pages
	}
	if f.Limit <= 0 {
		f.Limit = -1
	}
	if err := db.ensureActivity(ctx); err != nil {
		return nil, 0, err
	}
	// The page is cut first and only its rows are joined, so a deep
	// OFFSET skips rows without looking up their activity.
	rows, err := db.db.QueryContext(ctx, `SELECT `+tenantCols+` FROM (SELECT `+table+`name AS name`+from+w+
		` ORDER BY `+order+` LIMIT ? OFFSET ?) p CROSS JOIN tenants t ON t.name = p.name LEFT JOIN tenant_activity a ON a.name = t.name
		ORDER BY `+order,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []fleet.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// StatusCount is the number of tenants in a status.
type StatusCount struct {
	Status string
	Count  int64
	Bytes  int64
}

// CountTenants returns the number and total size of tenants per status.
func (db *DB) CountTenants(ctx context.Context) ([]StatusCount, error) {
	rows, err := db.db.QueryContext(db.lookup(ctx), `SELECT status, tenants, size_bytes FROM tenant_counts WHERE tenants > 0 ORDER BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StatusCount
	for rows.Next() {
		var c StatusCount
		if err := rows.Scan(&c.Status, &c.Count, &c.Bytes); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Observed is a database as the platform lists it.
type Observed struct {
	Name       string
	PlatformID string
	URL        string
	SizeBytes  int64
	ModifiedAt time.Time
	CreatedAt  time.Time
}

// ReconcileResult says what a reconciliation changed.
type ReconcileResult struct {
	Adopted     []string // new to the registry
	Missing     []string // registered, no longer on the platform
	Reappeared  []string // were missing or archived, now back
	Updated     int      // rows whose size or last write changed
	LastScanned time.Time
}

// Reconcile brings the registry in line with the platform's own list:
// databases the registry lacks are adopted as ready (schema version 0
// until someone reads it) if accept says they are databases (nil accepts
// all), ready rows whose database vanished are marked missing (never
// dropped), and sizes and write times are refreshed. Rows a job is working
// on (creating, deleting) are left to that job. Timestamps are compared as
// stored text, so an unchanged fleet costs one read of the registry.
func (db *DB) Reconcile(ctx context.Context, platform string, seen []Observed, accept func(name string) bool) (ReconcileResult, error) {
	now := db.now().UTC()
	res := ReconcileResult{LastScanned: now}
	type row struct {
		status    string
		size      int64
		lastWrite string
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		known := make(map[string]row)
		rows, err := tx.QueryContext(ctx, `SELECT name, status, size_bytes, coalesce(last_write_at, '') FROM tenants`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			var r row
			if err := rows.Scan(&name, &r.status, &r.size, &r.lastWrite); err != nil {
				rows.Close()
				return err
			}
			known[name] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var ins, upd *sql.Stmt
		defer func() {
			for _, s := range []*sql.Stmt{ins, upd} {
				if s != nil {
					s.Close()
				}
			}
		}()
		present := make(map[string]bool, len(seen))
		for _, o := range seen {
			present[o.Name] = true
			written, _ := ts(o.ModifiedAt).(string)
			r, ok := known[o.Name]
			if !ok {
				if accept != nil && !accept(o.Name) {
					delete(present, o.Name)
					continue
				}
				if ins == nil {
					if ins, err = tx.PrepareContext(ctx, `INSERT INTO tenants(name, platform, platform_id, url, status, size_bytes,
						created_at, last_seen_at, last_write_at) VALUES(?,?,?,?,?,?,?,?,?)`); err != nil {
						return err
					}
				}
				created := o.CreatedAt
				if created.IsZero() {
					created = now
				}
				if _, err := ins.ExecContext(ctx, o.Name, platform, o.PlatformID, o.URL, fleet.StatusReady,
					o.SizeBytes, ts(created), ts(now), ts(o.ModifiedAt)); err != nil {
					return err
				}
				res.Adopted = append(res.Adopted, o.Name)
				continue
			}
			status := r.status
			switch r.status {
			case fleet.StatusCreating, fleet.StatusDeleting, fleet.StatusRestoring:
				continue
			case fleet.StatusMissing, fleet.StatusArchived, fleet.StatusFailed:
				status = fleet.StatusReady
				res.Reappeared = append(res.Reappeared, o.Name)
			default:
				if r.size == o.SizeBytes && r.lastWrite == written {
					continue
				}
				res.Updated++
			}
			if upd == nil {
				if upd, err = tx.PrepareContext(ctx, `UPDATE tenants SET status = ?, size_bytes = ?, last_write_at = ?,
					last_seen_at = ?, archived_at = CASE WHEN ? = 'ready' THEN NULL ELSE archived_at END WHERE name = ?`); err != nil {
					return err
				}
			}
			if _, err := upd.ExecContext(ctx, status, o.SizeBytes, ts(o.ModifiedAt), ts(now), status, o.Name); err != nil {
				return err
			}
		}
		for name, r := range known {
			if r.status == fleet.StatusReady && !present[name] {
				if _, err := tx.ExecContext(ctx, `UPDATE tenants SET status = ? WHERE name = ?`, fleet.StatusMissing, name); err != nil {
					return err
				}
				res.Missing = append(res.Missing, name)
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("reconcile registry: %w", err)
	}
	return res, db.SetKV(ctx, "registry.last_scan", now.Format(timeLayout))
}

// LastScan returns when the registry was last reconciled.
func (db *DB) LastScan(ctx context.Context) time.Time {
	v, _ := db.GetKV(ctx, "registry.last_scan")
	var t time.Time
	_ = nullTime{&t}.parse(v)
	return t
}

// CountStatus returns the number of tenants in a status.
func (db *DB) CountStatus(ctx context.Context, status string) (int64, error) {
	var n int64
	err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM tenants WHERE status = ?`, status).Scan(&n)
	return n, err
}

// CollectCandidate is a ready tenant as the collector sees it, with what
// its last successful collection recorded.
type CollectCandidate struct {
	Name        string
	Fingerprint string // size and last write as the registry has them; "" if the platform reports no writes
	Last        CollectState
}

// CollectCandidates returns up to limit ready tenants after the given name,
// in name order, joined with their collection state: one cheap query per
// page of a large fleet.
func (db *DB) CollectCandidates(ctx context.Context, after string, limit int) ([]CollectCandidate, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT t.name, CASE WHEN t.last_write_at IS NULL THEN '' ELSE t.size_bytes || '@' || t.last_write_at END,
		coalesce(s.fingerprint, ''), coalesce(s.from_day, ''), coalesce(s.to_day, ''),
		coalesce(s.schema_cookie, 0), coalesce(s.schema_version, -1), coalesce(s.schema_read_on, '')
		FROM tenants t LEFT JOIN collect_state s ON s.tenant = t.name
		WHERE t.status = ? AND t.name > ? ORDER BY t.name LIMIT ?`, fleet.StatusReady, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CollectCandidate
	for rows.Next() {
		var c CollectCandidate
		var cookie int64
		if err := rows.Scan(&c.Name, &c.Fingerprint, &c.Last.Fingerprint, &c.Last.From, &c.Last.To, &cookie, &c.Last.Version, &c.Last.ReadOn); err != nil {
			return nil, err
		}
		c.Last.Tenant, c.Last.Cookie = c.Name, uint32(cookie)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ReadyNames returns the names of ready tenants in name order: all of
// them, or up to limit (> 0) that start with prefix, then, if there is
// room, others that contain it (the console's type-ahead). Both use the
// (status, name) index.
func (db *DB) ReadyNames(ctx context.Context, prefix string, limit int) ([]string, error) {
	ctx = db.lookup(ctx)
	scan := func(q string, args ...any) ([]string, error) { return db.strings(ctx, q, args...) }
	if limit <= 0 {
		return scan(`SELECT name FROM tenants WHERE status = ? ORDER BY name`, fleet.StatusReady)
	}
	prefix = strings.ToLower(prefix)
	out, err := scan(`SELECT name FROM tenants WHERE status = ? AND name >= ? AND name < ? ORDER BY name LIMIT ?`,
		fleet.StatusReady, prefix, prefix+"\U0010FFFF", limit)
	if err != nil || len(out) >= limit || prefix == "" {
		return out, err
	}
	more, err := scan(`SELECT name FROM tenants WHERE status = ? AND instr(name, ?) > 1 ORDER BY name LIMIT ?`,
		fleet.StatusReady, prefix, limit-len(out))
	return append(out, more...), err
}

// ReadyNamesAfter returns up to limit names of ready tenants after the
// given name, in name order: a page of the fleet for a job that walks it.
func (db *DB) ReadyNamesAfter(ctx context.Context, after string, limit int) ([]string, error) {
	return db.strings(ctx, `SELECT name FROM tenants WHERE status = ? AND name > ? ORDER BY name LIMIT ?`,
		fleet.StatusReady, after, limit)
}

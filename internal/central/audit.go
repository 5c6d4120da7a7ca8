package central

import (
	"context"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// Audit records one state change. It never fails the action it records:
// an error writing the entry is returned for logging only.
func (db *DB) Audit(ctx context.Context, e fleet.AuditEntry) error {
	if e.At.IsZero() {
		e.At = db.now()
	}
	if e.Outcome == "" {
		e.Outcome = "ok"
	}
	_, err := db.db.ExecContext(context.WithoutCancel(ctx), `INSERT INTO audit_log(at, actor, action, tenant, detail, outcome, error)
		VALUES(?,?,?,?,?,?,?)`, ts(e.At), e.Actor, e.Action, e.Tenant, fleet.Truncate(e.Detail, 2000), e.Outcome, fleet.Truncate(e.Error, 2000))
	return err
}

// AuditFilter selects audit entries; empty fields match anything.
type AuditFilter struct {
	Actor, Tenant, Action string
	// Outcome keeps entries with this outcome only (ok, error, failed).
	Outcome string
	// From and Until bound the entries' time: From <= at < Until.
	From, Until time.Time
	// Before pages back: only entries with a smaller id (older ones).
	Before int64
	Limit  int
}

// MaxAuditLimit is the most entries one AuditLog call returns.
const MaxAuditLimit = 1000

// AuditLog returns entries newest first.
func (db *DB) AuditLog(ctx context.Context, f AuditFilter) ([]fleet.AuditEntry, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"actor", f.Actor}, {"tenant", f.Tenant}, {"action", f.Action}, {"outcome", f.Outcome}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if !f.From.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, ts(f.From))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < ?")
		args = append(args, ts(f.Until))
	}
	if f.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, f.Before)
	}
	q := `SELECT id, at, actor, action, tenant, detail, outcome, error FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 || f.Limit > MaxAuditLimit {
		f.Limit = 200
	}
	q += ` ORDER BY id DESC LIMIT ?`
	rows, err := db.db.QueryContext(ctx, q, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.AuditEntry
	for rows.Next() {
		var e fleet.AuditEntry
		if err := rows.Scan(&e.ID, nullTime{&e.At}, &e.Actor, &e.Action, &e.Tenant, &e.Detail, &e.Outcome, &e.Error); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

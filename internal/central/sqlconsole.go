package central

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// QueryRecord is one run of the SQL console.
type QueryRecord struct {
	ID       int64             `json:"id"`
	Actor    string            `json:"actor"`
	At       time.Time         `json:"at"`
	Tenant   string            `json:"tenant,omitempty"` // one tenant; "" for a fan-out
	Scope    *fleet.Scope      `json:"scope,omitempty"`  // a fan-out's tenants; nil for one tenant's
	SQL      string            `json:"sql"`
	Params   map[string]string `json:"params,omitempty"`
	Write    bool              `json:"write"`
	Outcome  string            `json:"outcome"` // "ok" or "failed"
	Error    string            `json:"error,omitempty"`
	Rows     int64             `json:"rows"` // returned, or changed by a write
	Duration time.Duration     `json:"duration_ns"`
}

// historyKept is how many queries each user's history keeps.
const historyKept = 200

// AddQuery records a console run in its user's history, dropping the
// oldest past historyKept.
func (db *DB) AddQuery(ctx context.Context, r QueryRecord) error {
	if r.At.IsZero() {
		r.At = db.now()
	}
	params, err := json.Marshal(r.Params)
	if err != nil {
		return err
	}
	scope := ""
	if r.Scope != nil {
		scope = r.Scope.String()
	}
	ctx = context.WithoutCancel(ctx) // the run happened; record it even if the client left
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO sql_history(actor, at, tenant, scope, sql, params, write, outcome, error, rows, duration_ms)
		VALUES(?,?,?,?,?,?,?,?,?,?,?)`, r.Actor, ts(r.At), r.Tenant, scope, r.SQL, string(params), r.Write, r.Outcome,
		fleet.Truncate(r.Error, 2000), r.Rows, float64(r.Duration.Microseconds())/1000); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sql_history WHERE actor = ? AND id <= (
		SELECT id FROM sql_history WHERE actor = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, r.Actor, r.Actor, historyKept); err != nil {
		return err
	}
	return tx.Commit()
}

// QueryHistory returns a user's recent console runs, newest first.
func (db *DB) QueryHistory(ctx context.Context, actor string, limit int) ([]QueryRecord, error) {
	rows, err := db.db.QueryContext(db.lookup(ctx), `SELECT id, actor, at, tenant, scope, sql, params, write, outcome, error, rows, duration_ms
		FROM sql_history WHERE actor = ? ORDER BY id DESC LIMIT ?`, actor, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []QueryRecord
	for rows.Next() {
		var r QueryRecord
		var scope, params string
		var ms float64
		if err := rows.Scan(&r.ID, &r.Actor, nullTime{&r.At}, &r.Tenant, &scope, &r.SQL, &params, &r.Write, &r.Outcome, &r.Error, &r.Rows, &ms); err != nil {
			return nil, err
		}
		if scope != "" {
			sc, err := fleet.ParseScope(scope) // written by AddQuery
			if err != nil {
				return nil, err
			}
			r.Scope = &sc
		}
		_ = json.Unmarshal([]byte(params), &r.Params) // written by AddQuery
		r.Duration = time.Duration(ms * float64(time.Millisecond))
		out = append(out, r)
	}
	return out, rows.Err()
}

// SavedQuery is a named query shared with the team.
type SavedQuery struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	SQL       string    `json:"sql"`
	Tenant    string    `json:"tenant,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// SaveQuery stores a named query; ECONFLICT if the name is taken.
func (db *DB) SaveQuery(ctx context.Context, q SavedQuery) (SavedQuery, error) {
	if q.CreatedAt.IsZero() {
		q.CreatedAt = db.now()
	}
	res, err := db.db.ExecContext(ctx, `INSERT INTO saved_queries(name, sql, tenant, created_by, created_at) VALUES(?,?,?,?,?)`,
		q.Name, q.SQL, q.Tenant, q.CreatedBy, ts(q.CreatedAt))
	if err != nil {
		return q, translate(err, fmt.Sprintf("A saved query named %q", q.Name))
	}
	q.ID, err = res.LastInsertId()
	return q, err
}

// SavedQueries lists the saved queries by name.
func (db *DB) SavedQueries(ctx context.Context) ([]SavedQuery, error) {
	rows, err := db.db.QueryContext(db.lookup(ctx), `SELECT id, name, sql, tenant, created_by, created_at FROM saved_queries ORDER BY name LIMIT 1000`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SavedQuery
	for rows.Next() {
		var q SavedQuery
		if err := rows.Scan(&q.ID, &q.Name, &q.SQL, &q.Tenant, &q.CreatedBy, nullTime{&q.CreatedAt}); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// SavedQueryByID returns one saved query, or ENOTFOUND.
func (db *DB) SavedQueryByID(ctx context.Context, id int64) (SavedQuery, error) {
	var q SavedQuery
	err := db.db.QueryRowContext(ctx, `SELECT id, name, sql, tenant, created_by, created_at FROM saved_queries WHERE id = ?`, id).
		Scan(&q.ID, &q.Name, &q.SQL, &q.Tenant, &q.CreatedBy, nullTime{&q.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return q, fleet.Errorf(fleet.ENOTFOUND, "No saved query %d.", id)
	}
	return q, err
}

// DeleteSavedQuery removes a saved query; ENOTFOUND if there is none.
func (db *DB) DeleteSavedQuery(ctx context.Context, id int64) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM saved_queries WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fleet.Errorf(fleet.ENOTFOUND, "No saved query %d.", id)
	}
	return nil
}

package central

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// The snapshot records. The files live in the snapshot store; the central
// database knows which of them are whole (a file is recorded only after
// the store has it durably) and which tenant and time each one is of.

const snapshotCols = `id, tenant, taken_at, key, size, raw_size, sha256, fingerprint, run_id, verified_at`

func scanSnapshot(s scanner) (fleet.Snapshot, error) {
	var sn fleet.Snapshot
	err := s.Scan(&sn.ID, &sn.Tenant, nullTime{&sn.TakenAt}, &sn.Key, &sn.Size, &sn.RawSize, &sn.SHA256, &sn.Fingerprint,
		&sn.RunID, nullTime{&sn.VerifiedAt})
	return sn, err
}

func (db *DB) snapshots(ctx context.Context, q string, args ...any) ([]fleet.Snapshot, error) {
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Snapshot
	for rows.Next() {
		sn, err := scanSnapshot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sn)
	}
	return out, rows.Err()
}

// RecordSnapshot records a snapshot and sets its ID. The caller calls it
// only after the store's Put returned, when the file is whole, fsynced and
// under its final key: a crash before leaves an unrecorded file, which the
// orphan sweep removes, never a record without its bytes. The tenant need
// not be registered (any more). Times are kept to the millisecond. A key recorded already is a conflict; a record that
// is not whole (no tenant, key, time or checksum, no bytes) is refused,
// and neither writes anything.
func (db *DB) RecordSnapshot(ctx context.Context, s *fleet.Snapshot) error {
	if err := validSnapshot(s); err != nil {
		return err
	}
	s.TakenAt = s.TakenAt.UTC().Truncate(time.Millisecond)
	s.VerifiedAt = s.VerifiedAt.UTC().Truncate(time.Millisecond)
	res, err := db.db.ExecContext(ctx, `INSERT INTO snapshots(tenant, taken_at, key, size, raw_size, sha256, fingerprint, run_id, verified_at)
		VALUES(?,?,?,?,?,?,?,?,?)`, s.Tenant, ts(s.TakenAt), s.Key, s.Size, s.RawSize, s.SHA256, s.Fingerprint, s.RunID, ts(s.VerifiedAt))
	if err != nil {
		return translate(err, fmt.Sprintf("Snapshot %q", s.Key))
	}
	s.ID, err = res.LastInsertId()
	return err
}

func validSnapshot(s *fleet.Snapshot) error {
	if err := fleet.ValidateName(s.Tenant); err != nil {
		return err
	}
	sum, err := hex.DecodeString(s.SHA256)
	switch {
	case strings.TrimSpace(s.Key) == "":
		return fleet.Errorf(fleet.EINVALID, "A snapshot of %s needs the key its file is stored under.", s.Tenant)
	case s.TakenAt.IsZero():
		return fleet.Errorf(fleet.EINVALID, "A snapshot of %s needs the time it was taken.", s.Tenant)
	case s.Size <= 0 || s.RawSize < 0:
		return fleet.Errorf(fleet.EINVALID, "Snapshot %q of %s has no bytes (size %d, raw size %d): a snapshot is recorded only once its file is whole.",
			s.Key, s.Tenant, s.Size, s.RawSize)
	case err != nil || len(sum) != 32 || s.SHA256 != strings.ToLower(s.SHA256):
		return fleet.Errorf(fleet.EINVALID, "Snapshot %q of %s has checksum %q, not a SHA-256 in lowercase hex.", s.Key, s.Tenant, fleet.Truncate(s.SHA256, 70))
	case s.RunID < 0:
		return fleet.Errorf(fleet.EINVALID, "Snapshot %q of %s names run %d.", s.Key, s.Tenant, s.RunID)
	}
	return nil
}

// SnapshotByID returns one snapshot.
func (db *DB) SnapshotByID(ctx context.Context, id int64) (*fleet.Snapshot, error) {
	sn, err := scanSnapshot(db.db.QueryRowContext(db.lookup(ctx), `SELECT `+snapshotCols+` FROM snapshots WHERE id = ?`, id))
	if err != nil {
		return nil, translate(err, fmt.Sprintf("Snapshot %d", id))
	}
	return &sn, nil
}

// Snapshots lists a tenant's snapshots newest first, taken before before
// (the zero time: any), at most limit of them (0 or less: every one). To
// page back, pass the last one's TakenAt as the next before.
func (db *DB) Snapshots(ctx context.Context, tenant string, before time.Time, limit int) ([]fleet.Snapshot, error) {
	if err := fleet.ValidateName(tenant); err != nil {
		return nil, err
	}
	q := `SELECT ` + snapshotCols + ` FROM snapshots WHERE tenant = ?`
	args := []any{tenant}
	if !before.IsZero() {
		q += ` AND taken_at < ?`
		args = append(args, ts(before))
	}
	q += ` ORDER BY taken_at DESC, id DESC`
	if limit > 0 { // a page: a small indexed lookup
		q += ` LIMIT ?`
		args = append(args, limit)
		ctx = db.lookup(ctx)
	}
	return db.snapshots(ctx, q, args...)
}

// SnapshotAt returns the newest snapshot of tenant taken at or before at:
// the one a restore or a branch "at" that time starts from. A time in the
// future is refused (EINVALID); a tenant without snapshots, or whose
// oldest snapshot is younger than at, is ENOTFOUND with a message that
// says so, naming the oldest one's time.
func (db *DB) SnapshotAt(ctx context.Context, tenant string, at time.Time) (*fleet.Snapshot, error) {
	if err := fleet.ValidateName(tenant); err != nil {
		return nil, err
	}
	if at.IsZero() {
		return nil, fleet.Errorf(fleet.EINVALID, "Which time should the snapshot of %s be from? No time was given.", tenant)
	}
	if now := db.now(); at.After(now) {
		return nil, fleet.Errorf(fleet.EINVALID, "%s is in the future (it is %s now): no snapshot of %s is from then.",
			at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), tenant)
	}
	ctx = db.lookup(ctx)
	sn, err := scanSnapshot(db.db.QueryRowContext(ctx, `SELECT `+snapshotCols+` FROM snapshots WHERE tenant = ? AND taken_at <= ?
		ORDER BY taken_at DESC, id DESC LIMIT 1`, tenant, ts(at)))
	if err == nil {
		return &sn, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	var oldest time.Time
	err = db.db.QueryRowContext(ctx, `SELECT taken_at FROM snapshots WHERE tenant = ? ORDER BY taken_at LIMIT 1`, tenant).Scan(nullTime{&oldest})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fleet.Errorf(fleet.ENOTFOUND, "Tenant %s has no snapshot yet.", tenant)
	} else if err != nil {
		return nil, err
	}
	return nil, fleet.Errorf(fleet.ENOTFOUND, "No snapshot of %s is as old as %s: the oldest is from %s.",
		tenant, at.UTC().Format(time.RFC3339), oldest.Format(time.RFC3339))
}

// LatestSnapshots returns the newest snapshot of each of a page of
// tenants, by name; tenants without one are left out. Its fingerprint
// tells the snapshot job whether the tenant changed since: one query per
// 500 names, one index seek per name, whatever the number of snapshots.
func (db *DB) LatestSnapshots(ctx context.Context, tenants []string) (map[string]fleet.Snapshot, error) {
	out := make(map[string]fleet.Snapshot, len(tenants))
	for chunk := range chunks(tenants, 500) {
		args := make([]any, len(chunk))
		for i, n := range chunk {
			args[i] = n
		}
		got, err := db.snapshots(ctx, `WITH names(name) AS (VALUES `+strings.TrimSuffix(strings.Repeat("(?),", len(chunk)), ",")+`)
			SELECT `+snapshotCols+` FROM snapshots WHERE id IN (SELECT (SELECT id FROM snapshots s WHERE s.tenant = names.name
				ORDER BY taken_at DESC, id DESC LIMIT 1) FROM names)`, args...)
		if err != nil {
			return nil, err
		}
		for _, sn := range got {
			out[sn.Tenant] = sn
		}
	}
	return out, nil
}

// SnapshotTenants lists, in name order after after, up to limit names
// that have snapshots, registered or not: the retention policy walks
// these, so a deleted tenant's snapshots age out too.
func (db *DB) SnapshotTenants(ctx context.Context, after string, limit int) ([]string, error) {
	return db.strings(ctx, `SELECT DISTINCT tenant FROM snapshots WHERE tenant > ? ORDER BY tenant LIMIT ?`, after, limit)
}

// DeleteSnapshots deletes snapshot records and returns how many there
// were (ids already gone are skipped, so a retention pass that crashed
// may be run again). The caller removes their files afterwards: a crash
// in between leaves an orphan file, never a record without its file. A
// tenant's newest snapshot is never deleted: asking is a conflict, and
// then nothing is deleted.
func (db *DB) DeleteSnapshots(ctx context.Context, ids ...int64) (int64, error) {
	var deleted int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		for chunk := range chunks(ids, 500) {
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			var id int64
			var tenant string
			err := tx.QueryRowContext(ctx, `SELECT s.id, s.tenant FROM snapshots s WHERE s.id IN (`+placeholders(len(chunk))+`)
				AND s.id = (SELECT n.id FROM snapshots n WHERE n.tenant = s.tenant ORDER BY n.taken_at DESC, n.id DESC LIMIT 1)
				LIMIT 1`, args...).Scan(&id, &tenant)
			if err == nil {
				return fleet.Errorf(fleet.ECONFLICT, "Snapshot %d is the newest of %s: a tenant's newest snapshot is never deleted.", id, tenant)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM snapshots WHERE id IN (`+placeholders(len(chunk))+`)`, args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			deleted += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return deleted, nil
}

// MarkSnapshotVerified records that a restore drill restored the
// snapshot at at (the zero time: now) and found it whole.
func (db *DB) MarkSnapshotVerified(ctx context.Context, id int64, at time.Time) error {
	if at.IsZero() {
		at = db.now()
	}
	res, err := db.db.ExecContext(ctx, `UPDATE snapshots SET verified_at = ? WHERE id = ?`, ts(at), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fleet.Errorf(fleet.ENOTFOUND, "Snapshot %d not found.", id)
	}
	return nil
}

// RecordedSnapshotKeys returns which of keys are recorded: the orphan
// sweep removes the store's files that are not (and are old enough not to
// be a snapshot still being written).
func (db *DB) RecordedSnapshotKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	for chunk := range chunks(keys, 500) {
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		got, err := db.strings(ctx, `SELECT key FROM snapshots WHERE key IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for _, k := range got {
			out[k] = true
		}
	}
	return out, nil
}

// SnapshotCoverage is how well the ready tenants are backed up: of
// Tenants, Fresh have a snapshot younger than the age asked about, Late
// have none though they were registered before that; the rest (Tenants -
// Fresh - Late) are newer than the age and wait for their first.
type SnapshotCoverage struct {
	Tenants int64 `json:"tenants"`
	Fresh   int64 `json:"fresh"`
	Late    int64 `json:"late"`
	// LateNames are the first late tenants in name order.
	LateNames []string `json:"late_names"`
}

// SnapshotCoverage counts the ready tenants with and without a snapshot
// younger than maxAge (by the console's clock) and names the first limit
// late ones. It reads every ready tenant with one index seek each.
func (db *DB) SnapshotCoverage(ctx context.Context, maxAge time.Duration, limit int) (*SnapshotCoverage, error) {
	if maxAge <= 0 {
		return nil, fleet.Errorf(fleet.EINVALID, "The age a snapshot may reach must be positive, not %s.", maxAge)
	}
	since := ts(db.now().Add(-maxAge))
	c := &SnapshotCoverage{LateNames: []string{}}
	// Materialized, the seek runs once per tenant, not once per use.
	err := db.db.QueryRowContext(ctx, `WITH c AS MATERIALIZED (SELECT t.created_at,
			EXISTS (SELECT 1 FROM snapshots s WHERE s.tenant = t.name AND s.taken_at >= ?1) AS fresh
			FROM tenants t WHERE t.status = ?2)
		SELECT count(*), coalesce(sum(fresh), 0), coalesce(sum(NOT fresh AND created_at < ?1), 0) FROM c`,
		since, fleet.StatusReady).Scan(&c.Tenants, &c.Fresh, &c.Late)
	if err != nil || c.Late == 0 || limit <= 0 {
		return c, err
	}
	names, err := db.strings(ctx, `SELECT name FROM tenants t WHERE t.status = ?2 AND t.created_at < ?1
		AND NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.tenant = t.name AND s.taken_at >= ?1) ORDER BY name LIMIT ?3`,
		since, fleet.StatusReady, limit)
	c.LateNames = append(c.LateNames, names...)
	return c, err
}

// SnapshotTotals is what the snapshot store holds, by the records.
type SnapshotTotals struct {
	Snapshots int64 `json:"snapshots"`
	Size      int64 `json:"size"`     // compressed bytes: the storage used
	RawSize   int64 `json:"raw_size"` // the databases' bytes
	// Oldest is the oldest snapshot of any tenant; nil if there is none.
	Oldest *fleet.Snapshot `json:"oldest,omitempty"`
}

// SnapshotTotals counts the recorded snapshots and their bytes (kept by
// triggers: one row read) and finds the oldest.
func (db *DB) SnapshotTotals(ctx context.Context) (*SnapshotTotals, error) {
	ctx = db.lookup(ctx)
	var t SnapshotTotals
	if err := db.db.QueryRowContext(ctx, `SELECT snapshots, size, raw_size FROM snapshot_totals WHERE id = 1`).
		Scan(&t.Snapshots, &t.Size, &t.RawSize); err != nil {
		return nil, err
	}
	sn, err := scanSnapshot(db.db.QueryRowContext(ctx, `SELECT `+snapshotCols+` FROM snapshots ORDER BY taken_at, id LIMIT 1`))
	if err == nil {
		t.Oldest = &sn
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return &t, nil
}

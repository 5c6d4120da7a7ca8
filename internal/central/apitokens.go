package central

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// TokenPrefix starts every API token, so that a leaked one is easy to
// recognise (and to search for in code and logs).
const TokenPrefix = "tnt_"

// IdempotencyTTL is how long an idempotency key is remembered.
const IdempotencyTTL = 24 * time.Hour

const tokenCols = `id, name, prefix, role, created_by, created_at, expires_at, last_used_at, revoked_at, revoked_by`

func scanToken(s scanner) (fleet.APIToken, error) {
	var t fleet.APIToken
	err := s.Scan(&t.ID, &t.Name, &t.Prefix, &t.Role, &t.CreatedBy, nullTime{&t.CreatedAt}, nullTime{&t.ExpiresAt},
		nullTime{&t.LastUsedAt}, nullTime{&t.RevokedAt}, &t.RevokedBy)
	return t, err
}

// CreateAPIToken makes a token and returns its secret, which is not kept:
// only its hash is stored. lifetime 0 makes a token that does not expire.
func (db *DB) CreateAPIToken(ctx context.Context, name, role, createdBy string, lifetime time.Duration) (string, *fleet.APIToken, error) {
	if err := fleet.ValidateTokenName(name); err != nil {
		return "", nil, err
	}
	if err := fleet.ValidateRole(role); err != nil {
		return "", nil, err
	}
	if lifetime < 0 || lifetime > fleet.MaxTokenLifetime {
		return "", nil, fleet.Errorf(fleet.EINVALID, "A token lives at most %d days.", int(fleet.MaxTokenLifetime.Hours()/24))
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	now := db.now().UTC().Truncate(time.Millisecond)
	t := &fleet.APIToken{Name: name, Prefix: secret[:len(TokenPrefix)+6], Role: role, CreatedBy: createdBy, CreatedAt: now}
	if lifetime > 0 {
		t.ExpiresAt = now.Add(lifetime)
	}
	res, err := db.db.ExecContext(ctx, `INSERT INTO api_tokens(name, prefix, token_hash, role, created_by, created_at, expires_at)
		VALUES(?,?,?,?,?,?,?)`, t.Name, t.Prefix, hashToken(secret), t.Role, t.CreatedBy, ts(t.CreatedAt), ts(t.ExpiresAt))
	if err != nil {
		if fleet.ErrorCode(translate(err, "")) == fleet.ECONFLICT {
			return "", nil, fleet.Errorf(fleet.ECONFLICT, "A token named %q exists: revoke it first, or choose another name.", name)
		}
		return "", nil, err
	}
	t.ID, err = res.LastInsertId()
	return secret, t, err
}

// APITokens lists every token, live ones first, newest first.
func (db *DB) APITokens(ctx context.Context) ([]fleet.APIToken, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM api_tokens
		ORDER BY revoked_at IS NOT NULL, id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []fleet.APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken revokes the live token of that name: its next call is
// refused.
func (db *DB) RevokeAPIToken(ctx context.Context, name, by string) (*fleet.APIToken, error) {
	if err := fleet.ValidateTokenName(name); err != nil {
		return nil, err
	}
	t, err := scanToken(db.db.QueryRowContext(ctx, `UPDATE api_tokens SET revoked_at = ?, revoked_by = ?
		WHERE name = ? AND revoked_at IS NULL RETURNING `+tokenCols, ts(db.now()), by, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fleet.Errorf(fleet.ENOTFOUND, "No live token named %q.", name)
	}
	return &t, err
}

// APITokenAuth returns the token whose secret this is, refusing unknown,
// revoked and expired ones with the reason. Its last use is recorded at
// most once a minute, so that reads stay reads.
func (db *DB) APITokenAuth(ctx context.Context, secret string) (*fleet.APIToken, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return nil, fleet.Errorf(fleet.EUNAUTHORIZED, "This is not a Tenantry API token (they start with %q).", TokenPrefix)
	}
	t, err := scanToken(db.db.QueryRowContext(db.lookup(ctx), `SELECT `+tokenCols+` FROM api_tokens WHERE token_hash = ?`, hashToken(secret)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fleet.Errorf(fleet.EUNAUTHORIZED, "Unknown API token.")
	} else if err != nil {
		return nil, err
	}
	now := db.now().UTC()
	switch {
	case !t.RevokedAt.IsZero():
		return nil, fleet.Errorf(fleet.EUNAUTHORIZED, "API token %q was revoked at %s.", t.Name, t.RevokedAt.Format(time.RFC3339))
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return nil, fleet.Errorf(fleet.EUNAUTHORIZED, "API token %q expired at %s.", t.Name, t.ExpiresAt.Format(time.RFC3339))
	}
	if now.Sub(t.LastUsedAt) > time.Minute {
		_, _ = db.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, ts(now), t.ID)
		t.LastUsedAt = now
	}
	return &t, nil
}

// APIRateHit counts a request of a token in the current minute and
// reports whether it is within limit; if not, how long until the next
// minute starts. One statement counts and checks, so replicas sharing
// the central database share the count.
func (db *DB) APIRateHit(ctx context.Context, tokenID int64, limit int) (bool, time.Duration, error) {
	now := db.now().UTC()
	minute := now.Unix() / 60
	var n int
	err := db.db.QueryRowContext(ctx, `INSERT INTO api_rate(token_id, minute, count) VALUES(?, ?, 1)
		ON CONFLICT(token_id, minute) DO UPDATE SET count = count + 1 RETURNING count`, tokenID, minute).Scan(&n)
	if err != nil {
		return false, 0, err
	}
	if n == 1 {
		// A new minute: the token's older counts are done with.
		_, _ = db.db.ExecContext(ctx, `DELETE FROM api_rate WHERE token_id = ? AND minute < ?`, tokenID, minute)
	}
	if n <= limit {
		return true, 0, nil
	}
	return false, time.Unix((minute+1)*60, 0).Sub(now), nil
}

// Once is an idempotency key: the first request with it queues a job, and
// the same key again (from the same actor) returns that job instead of
// doing anything twice. Hash identifies the request, so that a key reused
// for a different one is refused.
type Once struct {
	Actor, Key, Hash string
}

// OnceJob returns the job a key's first request queued, or 0 if the key
// is new; EINVALID if the key was used for a different request.
func (db *DB) OnceJob(ctx context.Context, o Once) (int64, error) {
	var hash string
	var id int64
	err := db.db.QueryRowContext(ctx, `SELECT request_hash, job_id FROM api_idempotency WHERE actor = ? AND key = ? AND created_at > ?`,
		o.Actor, o.Key, ts(db.now().Add(-IdempotencyTTL))).Scan(&hash, &id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, err
	case hash != o.Hash:
		return 0, fleet.Errorf(fleet.EINVALID, "Idempotency-Key %q was used for a different request: send a new key for a new request.", fleet.Truncate(o.Key, 40))
	}
	return id, nil
}

// recordOnce binds an idempotency key to the job its request queued, in
// the transaction that queues it.
func (db *DB) recordOnce(ctx context.Context, tx *sql.Tx, o *Once, jobID int64) error {
	if o == nil {
		return nil
	}
	// An expired key may be used again.
	if _, err := tx.ExecContext(ctx, `DELETE FROM api_idempotency WHERE actor = ? AND key = ? AND created_at <= ?`,
		o.Actor, o.Key, ts(db.now().Add(-IdempotencyTTL))); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO api_idempotency(actor, key, request_hash, job_id, created_at) VALUES(?,?,?,?,?)`,
		o.Actor, o.Key, o.Hash, jobID, ts(db.now()))
	if err != nil && fleet.ErrorCode(translate(err, "")) == fleet.ECONFLICT {
		return ErrOnceTaken
	}
	return err
}

// ErrOnceTaken: another request with the same idempotency key queued its
// job first; OnceJob now returns it.
var ErrOnceTaken = fmt.Errorf("idempotency key taken by a concurrent request")

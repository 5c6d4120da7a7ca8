package central

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"golang.org/x/crypto/bcrypt"
)

// bcryptCost is bcrypt's work factor; tests lower it.
var bcryptCost = 12

// SetBcryptCost changes the work factor (tests only: it is slow on purpose).
func SetBcryptCost(c int) { bcryptCost = c }

// AddUser creates a user with a bcrypt-hashed password.
func (db *DB) AddUser(ctx context.Context, email, password, role string) (*fleet.User, error) {
	email, err := fleet.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if err := fleet.ValidateRole(role); err != nil {
		return nil, err
	}
	if err := fleet.ValidatePassword(password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return nil, err
	}
	now := db.now().UTC()
	res, err := db.db.ExecContext(ctx, `INSERT INTO users(email, password_hash, role, created_at, password_changed_at)
		VALUES(?,?,?,?,?)`, email, string(hash), role, ts(now), ts(now))
	if err != nil {
		return nil, translate(err, fmt.Sprintf("User %s", email))
	}
	id, _ := res.LastInsertId()
	return &fleet.User{ID: id, Email: email, Role: role, CreatedAt: now}, nil
}

// CountUsers returns the number of users.
func (db *DB) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// UserByEmail returns a user.
func (db *DB) UserByEmail(ctx context.Context, email string) (*fleet.User, error) {
	u, _, err := db.userWithHash(ctx, `email = lower(?)`, email)
	return u, err
}

func (db *DB) userWithHash(ctx context.Context, where string, arg any) (*fleet.User, string, error) {
	var u fleet.User
	var hash string
	err := db.db.QueryRowContext(ctx, `SELECT id, email, role, disabled, created_at, password_hash FROM users WHERE `+where, arg).
		Scan(&u.ID, &u.Email, &u.Role, &u.Disabled, nullTime{&u.CreatedAt}, &hash)
	if err != nil {
		return nil, "", translate(err, "User")
	}
	return &u, hash, nil
}

// dummyHash keeps a login for an unknown e-mail as slow as one for a known
// e-mail, so response times do not reveal which addresses exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user, no such password"), bcrypt.MinCost)

// Authenticate checks an e-mail and password. Any mismatch is the same
// unauthorized error.
func (db *DB) Authenticate(ctx context.Context, email, password string) (*fleet.User, error) {
	bad := fleet.Errorf(fleet.EUNAUTHORIZED, "Wrong e-mail or password.")
	u, hash, err := db.userWithHash(ctx, `email = lower(?)`, email)
	if fleet.ErrorCode(err) == fleet.ENOTFOUND {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return nil, bad
	}
	if u.Disabled {
		return nil, fleet.Errorf(fleet.EUNAUTHORIZED, "This account is disabled.")
	}
	return u, nil
}

// Session lifetimes: an idle session ends after SessionIdle, any session
// after SessionMax.
const (
	SessionIdle = 12 * time.Hour
	SessionMax  = 7 * 24 * time.Hour
)

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// CreateSession starts a session and returns its secret token (only its
// hash is stored).
func (db *DB) CreateSession(ctx context.Context, userID int64, remoteAddr, userAgent string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	now := db.now().UTC()
	_, err := db.db.ExecContext(ctx, `INSERT INTO sessions(token_hash, user_id, created_at, expires_at, last_seen_at, remote_addr, user_agent)
		VALUES(?,?,?,?,?,?,?)`, hashToken(tok), userID, ts(now), ts(now.Add(SessionMax)), ts(now), remoteAddr, fleet.Truncate(userAgent, 200))
	return tok, err
}

const sessionQuery = `SELECT u.id, u.email, u.role, u.disabled, u.created_at, s.expires_at, s.last_seen_at
	FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`

// SessionUser returns the user of a live session and touches it. Expired,
// idle, unknown sessions and disabled users are unauthorized.
func (db *DB) SessionUser(ctx context.Context, tok string) (*fleet.User, error) {
	if tok == "" {
		return nil, fleet.Errorf(fleet.EUNAUTHORIZED, "Please log in.")
	}
	now := db.now().UTC()
	var u fleet.User
	var expires, lastSeen time.Time
	h := hashToken(tok)
	err := db.sessionStmt.QueryRowContext(db.lookup(ctx), h).
		Scan(&u.ID, &u.Email, &u.Role, &u.Disabled, nullTime{&u.CreatedAt}, nullTime{&expires}, nullTime{&lastSeen})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fleet.Errorf(fleet.EUNAUTHORIZED, "Your session has ended. Please log in again.")
	} else if err != nil {
		return nil, err
	}
	if u.Disabled || now.After(expires) || now.Sub(lastSeen) > SessionIdle {
		_, _ = db.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, h)
		return nil, fleet.Errorf(fleet.EUNAUTHORIZED, "Your session has expired. Please log in again.")
	}
	// Touch at most once a minute: a page view should not be a write.
	if now.Sub(lastSeen) > time.Minute {
		_, _ = db.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, ts(now), h)
	}
	return &u, nil
}

// DeleteSession ends a session (logout).
func (db *DB) DeleteSession(ctx context.Context, tok string) error {
	_, err := db.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hashToken(tok))
	return err
}

// PurgeSessions deletes expired sessions.
func (db *DB) PurgeSessions(ctx context.Context) error {
	now := db.now().UTC()
	_, err := db.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?`,
		ts(now), ts(now.Add(-SessionIdle)))
	return err
}

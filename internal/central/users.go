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
	"strings"
	"sync"
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
	if err := fleet.ValidatePassword(password, email); err != nil {
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

// dummyHash is what a login for an unknown e-mail is checked against, so
// that it is exactly as slow as one for a known e-mail (a hash of the
// same cost) and response times do not reveal which addresses exist.
func dummyHash() []byte {
	dummyMu.Lock()
	defer dummyMu.Unlock()
	if h, ok := dummyHashes[bcryptCost]; ok {
		return h
	}
	h, err := bcrypt.GenerateFromPassword([]byte("no such user, no such password"), bcryptCost)
	if err != nil {
		panic("bcrypt: " + err.Error()) // only for a cost out of range, which SetBcryptCost's callers do not set
	}
	dummyHashes[bcryptCost] = h
	return h
}

var (
	dummyMu     sync.Mutex
	dummyHashes = map[int][]byte{}
)

// Authenticate checks an e-mail and password. Any mismatch is the same
// unauthorized error.
func (db *DB) Authenticate(ctx context.Context, email, password string) (*fleet.User, error) {
	bad := fleet.Errorf(fleet.EUNAUTHORIZED, "Wrong e-mail or password.")
	u, hash, err := db.userWithHash(ctx, `email = lower(?)`, email)
	// bcrypt reads 72 bytes and ignores the rest, so a longer password
	// would match any stored one it starts with; none was accepted when
	// set, so none matches now.
	if fleet.ErrorCode(err) == fleet.ENOTFOUND || err == nil && len(password) > fleet.MaxPasswordBytes {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
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
	if err != nil {
		return "", err
	}
	_, err = db.db.ExecContext(ctx, `UPDATE users SET last_seen_at = ? WHERE id = ?`, ts(now), userID)
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
	// The user's own last_seen_at outlives the session, for the users page.
	if now.Sub(lastSeen) > time.Minute {
		_, _ = db.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, ts(now), h)
		_, _ = db.db.ExecContext(ctx, `UPDATE users SET last_seen_at = ? WHERE id = ?`, ts(now), u.ID)
	}
	return &u, nil
}

// DeleteSession ends a session (logout).
func (db *DB) DeleteSession(ctx context.Context, tok string) error {
	_, err := db.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hashToken(tok))
	return err
}

// PurgeSessions deletes expired sessions, API rate counts and idempotency
// keys that no longer count, and failed logins too old to
// count towards a throttle.
func (db *DB) PurgeSessions(ctx context.Context) error {
	now := db.now().UTC()
	if _, err := db.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?`,
		ts(now), ts(now.Add(-SessionIdle))); err != nil {
		return err
	}
	if _, err := db.db.ExecContext(ctx, `DELETE FROM login_failures WHERE at <= ?`, ts(now.Add(-LoginWindow))); err != nil {
		return err
	}
	if _, err := db.db.ExecContext(ctx, `DELETE FROM api_rate WHERE minute < ?`, now.Unix()/60-1); err != nil {
		return err
	}
	_, err := db.db.ExecContext(ctx, `DELETE FROM api_idempotency WHERE created_at <= ?`, ts(now.Add(-IdempotencyTTL)))
	return err
}

// UserInfo is a user as the users page and `users list` show it.
type UserInfo struct {
	ID                int64     `json:"id"`
	Email             string    `json:"email"`
	Role              string    `json:"role"`
	Disabled          bool      `json:"disabled"`
	CreatedAt         time.Time `json:"created_at"`
	PasswordChangedAt time.Time `json:"password_changed_at"`
	// LastSeenAt is the last login or page view, zero if never.
	LastSeenAt time.Time `json:"last_seen_at,omitzero"`
	// Sessions counts the live sessions (browsers logged in).
	Sessions int `json:"sessions"`
}

const userInfoQuery = `SELECT u.id, u.email, u.role, u.disabled, u.created_at, u.password_changed_at, u.last_seen_at,
	(SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at >= ? AND s.last_seen_at >= ?)
	FROM users u`

func (db *DB) userInfos(ctx context.Context, where string, args ...any) ([]UserInfo, error) {
	now := db.now().UTC()
	rows, err := db.db.QueryContext(ctx, userInfoQuery+" "+where, append([]any{ts(now), ts(now.Add(-SessionIdle))}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UserInfo
	for rows.Next() {
		var u UserInfo
		if err := rows.Scan(&u.ID, &u.Email, &u.Role, &u.Disabled, nullTime{&u.CreatedAt}, nullTime{&u.PasswordChangedAt},
			nullTime{&u.LastSeenAt}, &u.Sessions); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Users lists every user by e-mail.
func (db *DB) Users(ctx context.Context) ([]UserInfo, error) {
	return db.userInfos(ctx, `ORDER BY u.email`)
}

// UserInfoByID returns one user.
func (db *DB) UserInfoByID(ctx context.Context, id int64) (*UserInfo, error) {
	us, err := db.userInfos(ctx, `WHERE u.id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(us) == 0 {
		return nil, fleet.Errorf(fleet.ENOTFOUND, "No user #%d.", id)
	}
	return &us[0], nil
}

// UserInfoByEmail returns one user.
func (db *DB) UserInfoByEmail(ctx context.Context, email string) (*UserInfo, error) {
	us, err := db.userInfos(ctx, `WHERE u.email = lower(?)`, strings.TrimSpace(email))
	if err != nil {
		return nil, err
	}
	if len(us) == 0 {
		return nil, fleet.Errorf(fleet.ENOTFOUND, "No user %s.", fleet.Truncate(strings.TrimSpace(email), 100))
	}
	return &us[0], nil
}

// keepsAnAdmin is the condition under which the user ?1 may stop being an
// active admin: they are not one, or another active admin remains. Checked
// inside the UPDATE itself, so two admins demoting each other at once
// cannot both succeed.
const keepsAnAdmin = `(role <> 'admin' OR disabled <> 0 OR
	EXISTS (SELECT 1 FROM users o WHERE o.id <> ?1 AND o.role = 'admin' AND o.disabled = 0))`

// lastAdmin explains why an update that needed keepsAnAdmin changed
// nothing: the user is unknown, or is the last active admin.
func (db *DB) lastAdmin(ctx context.Context, id int64, what string) error {
	u, err := db.UserInfoByID(ctx, id)
	if err != nil {
		return err
	}
	return fleet.Errorf(fleet.ECONFLICT, "%s is the last active admin and cannot be %s: make another user an admin first.", u.Email, what)
}

// SetRole changes a user's role. It takes effect on the user's next
// request (the role is read with the session). The last active admin
// cannot be demoted.
func (db *DB) SetRole(ctx context.Context, id int64, role string) error {
	if err := fleet.ValidateRole(role); err != nil {
		return err
	}
	q := `UPDATE users SET role = ?2 WHERE id = ?1`
	if role != fleet.RoleAdmin {
		q += ` AND ` + keepsAnAdmin
	}
	res, err := db.db.ExecContext(ctx, q, id, role)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return db.lastAdmin(ctx, id, "demoted")
	}
	return nil
}

// SetDisabled disables or enables a user. Disabling ends all their
// sessions; the last active admin cannot be disabled. It returns the
// number of sessions ended.
func (db *DB) SetDisabled(ctx context.Context, id int64, disabled bool) (int64, error) {
	if !disabled {
		res, err := db.db.ExecContext(ctx, `UPDATE users SET disabled = 0 WHERE id = ?`, id)
		if err != nil {
			return 0, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return 0, fleet.Errorf(fleet.ENOTFOUND, "No user #%d.", id)
		}
		return 0, nil
	}
	var ended, changed int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled = 1 WHERE id = ?1 AND `+keepsAnAdmin, id)
		if err != nil {
			return err
		}
		if changed, _ = res.RowsAffected(); changed == 0 {
			return nil
		}
		ended, err = endSessions(ctx, tx, id)
		return err
	})
	if err == nil && changed == 0 {
		err = db.lastAdmin(ctx, id, "disabled")
	}
	return ended, err
}

// SetPassword replaces a user's password and ends all their sessions,
// returning how many it ended.
func (db *DB) SetPassword(ctx context.Context, id int64, password string) (int64, error) {
	u, _, err := db.userWithHash(ctx, `id = ?`, id)
	if err != nil {
		return 0, err
	}
	if err := fleet.ValidatePassword(password, u.Email); err != nil {
		return 0, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return 0, err
	}
	var ended int64
	err = db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?`,
			string(hash), ts(db.now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fleet.Errorf(fleet.ENOTFOUND, "No user #%d.", id)
		}
		ended, err = endSessions(ctx, tx, id)
		return err
	})
	return ended, err
}

func endSessions(ctx context.Context, tx *sql.Tx, userID int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Login throttling: after MaxAccountFailures failed logins for one e-mail,
// or MaxAddressFailures from one address, within LoginWindow, further
// attempts are refused without checking the password until the oldest of
// those failures is LoginWindow old. The counts live in the central
// database, so they hold across replicas and restarts.
const (
	LoginWindow        = 15 * time.Minute
	MaxAccountFailures = 5
	MaxAddressFailures = 20
)

// ThrottledError refuses a login attempt while too many recent ones failed.
type ThrottledError struct {
	RetryAfter time.Duration // until the next attempt is checked
}

func (e *ThrottledError) Error() string {
	m := int((e.RetryAfter + time.Minute - 1) / time.Minute)
	if m < 1 {
		m = 1
	}
	unit := "minutes"
	if m == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("Too many failed logins for this e-mail or from this address. Try again in %d %s.", m, unit)
}

// Login checks an e-mail and password from a remote address, counting
// failures and refusing with a *ThrottledError while there were too many.
// An unknown e-mail is counted and throttled like a known one, so the
// answers do not tell which accounts exist. A success clears the
// e-mail's count (not the address's: one good account must not unlock
// guessing at others).
func (db *DB) Login(ctx context.Context, email, password, addr string) (*fleet.User, error) {
	email = fleet.Truncate(strings.ToLower(strings.TrimSpace(email)), 200)
	now := db.now().UTC()
	since := ts(now.Add(-LoginWindow))
	// Check and record in one statement, so in one write transaction on
	// SQLite and on a libSQL server alike: each attempt first records a
	// failure, but only while both counts are under their limits. However
	// many attempts arrive at once, from however many replicas, at most
	// the limit get to check a password. A success removes the record.
	res, err := db.db.ExecContext(ctx, `INSERT INTO login_failures(at, email, addr)
		SELECT ?1, ?2, ?3
		WHERE (SELECT count(*) FROM login_failures WHERE email = ?2 AND at > ?4) < ?5
		  AND (SELECT count(*) FROM login_failures WHERE addr = ?3 AND at > ?4) < ?6`,
		ts(now), email, addr, since, MaxAccountFailures, MaxAddressFailures)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, err
	} else if n == 0 {
		return nil, &ThrottledError{RetryAfter: db.throttledFor(ctx, email, addr, now)}
	}
	attempt, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	u, err := db.Authenticate(ctx, email, password)
	if err != nil {
		return nil, err // the failure stays recorded
	}
	// A success clears the e-mail's failures, this attempt's among them.
	if _, err := db.db.ExecContext(ctx, `DELETE FROM login_failures WHERE email = ? OR id = ?`, email, attempt); err != nil {
		return nil, err
	}
	return u, nil
}

// throttledFor tells how long a throttled login must wait: until the
// oldest failure that keeps a count at its limit (the limit-th most
// recent) leaves the window.
func (db *DB) throttledFor(ctx context.Context, email, addr string, now time.Time) time.Duration {
	until := now.Add(time.Second)
	for _, c := range []struct {
		col, v string
		max    int
	}{{"email", email, MaxAccountFailures}, {"addr", addr, MaxAddressFailures}} {
		var at time.Time
		err := db.db.QueryRowContext(ctx, `SELECT at FROM login_failures WHERE `+c.col+` = ? AND at > ?
			ORDER BY at DESC LIMIT 1 OFFSET ?`, c.v, ts(now.Add(-LoginWindow)), c.max-1).Scan(nullTime{&at})
		if t := at.Add(LoginWindow); err == nil && t.After(until) {
			until = t
		}
	}
	return until.Sub(now)
}

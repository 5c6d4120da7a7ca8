package central_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/central/centraltest"
	"github.com/tenantry/tenantry/internal/fleet"
)

const password = "plenty of unrelated words"

func addUser(t *testing.T, db *central.DB, email, role string) *fleet.User {
	t.Helper()
	u, err := db.AddUser(context.Background(), email, password, role)
	if err != nil {
		t.Fatalf("add %s: %v", email, err)
	}
	return u
}

func TestAddUser(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	addUser(t, db, "Ada@Example.com", fleet.RoleAdmin)
	for _, c := range []struct {
		email, password, role string
		want                  string
	}{
		{"bob@example.com", password, fleet.RoleViewer, ""},
		{"ADA@example.COM", password, fleet.RoleViewer, fleet.ECONFLICT},
		{"not an address", password, fleet.RoleViewer, fleet.EINVALID},
		{"carl@example.com", password, "owner", fleet.EINVALID},
		{"carl@example.com", "too short", fleet.RoleViewer, fleet.EINVALID},
		{"carl@example.com", "carl@example.com carl", fleet.RoleViewer, fleet.EINVALID},
	} {
		_, err := db.AddUser(ctx, c.email, c.password, c.role)
		wantCode(t, err, c.want)
	}
	if n, err := db.CountUsers(ctx); err != nil || n != 2 {
		t.Errorf("%d users, %v; want 2", n, err)
	}
	u, err := db.UserByEmail(ctx, "ADA@EXAMPLE.COM")
	must(t, err)
	if u.Email != "ada@example.com" || u.Role != fleet.RoleAdmin {
		t.Errorf("stored %+v, want the address lowercased", u)
	}
	_, err = db.UserByEmail(ctx, "nobody@example.com")
	wantCode(t, err, fleet.ENOTFOUND)
}

func TestAuthenticate(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	ada := addUser(t, db, "ada@example.com", fleet.RoleAdmin)
	off := addUser(t, db, "off@example.com", fleet.RoleViewer)
	_, err := db.SetDisabled(ctx, off.ID, true)
	must(t, err)
	long := password + strings.Repeat("x", fleet.MaxPasswordBytes-len(password)) // as long as bcrypt reads
	_, err = db.SetPassword(ctx, ada.ID, long)
	must(t, err)
	for _, c := range []struct {
		name, email, password string
		says                  string // "" for a success
	}{
		{"right", "ada@example.com", long, ""},
		{"any case", "ADA@Example.com", long, ""},
		{"wrong password", "ada@example.com", password, "Wrong e-mail or password."},
		{"unknown e-mail", "nobody@example.com", long, "Wrong e-mail or password."},
		{"past bcrypt's 72 bytes", "ada@example.com", long + "y", "Wrong e-mail or password."},
		{"disabled", "off@example.com", password, "disabled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := db.Authenticate(ctx, c.email, c.password)
			if c.says == "" {
				if err != nil || u.Email != "ada@example.com" {
					t.Fatalf("%+v, %v", u, err)
				}
				return
			}
			wantCode(t, err, fleet.EUNAUTHORIZED)
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("%q does not say %q", err, c.says)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	for _, c := range []struct {
		name  string
		after func(t *testing.T, db *central.DB, clk *centraltest.Clock, u *fleet.User, tok string)
		says  string // "" for a live session
	}{
		{"fresh", func(*testing.T, *central.DB, *centraltest.Clock, *fleet.User, string) {}, ""},
		{"idle almost too long", func(_ *testing.T, _ *central.DB, clk *centraltest.Clock, _ *fleet.User, _ string) {
			clk.Add(central.SessionIdle)
		}, ""},
		{"idle too long", func(_ *testing.T, _ *central.DB, clk *centraltest.Clock, _ *fleet.User, _ string) {
			clk.Add(central.SessionIdle + time.Second)
		}, "expired"},
		{"used every few hours past its lifetime", func(t *testing.T, db *central.DB, clk *centraltest.Clock, _ *fleet.User, tok string) {
			for clk.Now().Before(start.Add(central.SessionMax)) {
				clk.Add(6 * time.Hour)
				_, err := db.SessionUser(context.Background(), tok)
				must(t, err)
			}
			clk.Add(time.Second)
		}, "expired"},
		{"logged out", func(t *testing.T, db *central.DB, _ *centraltest.Clock, _ *fleet.User, tok string) {
			must(t, db.DeleteSession(context.Background(), tok))
		}, "ended"},
		{"user disabled", func(t *testing.T, db *central.DB, _ *centraltest.Clock, u *fleet.User, _ string) {
			addUser(t, db, "other@example.com", fleet.RoleAdmin)
			_, err := db.SetDisabled(context.Background(), u.ID, true)
			must(t, err)
		}, "ended"},
		{"password changed", func(t *testing.T, db *central.DB, _ *centraltest.Clock, u *fleet.User, _ string) {
			_, err := db.SetPassword(context.Background(), u.ID, "another set of plain words")
			must(t, err)
		}, "ended"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, clk := openDB(t)
			ctx := context.Background()
			u := addUser(t, db, "ada@example.com", fleet.RoleAdmin)
			tok, err := db.CreateSession(ctx, u.ID, "10.0.0.1", "test")
			must(t, err)
			c.after(t, db, clk, u, tok)
			got, err := db.SessionUser(ctx, tok)
			if c.says == "" {
				if err != nil || got.ID != u.ID {
					t.Fatalf("%+v, %v", got, err)
				}
				return
			}
			wantCode(t, err, fleet.EUNAUTHORIZED)
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("%q does not say %q", err, c.says)
			}
			// An ended session stays ended.
			_, err = db.SessionUser(ctx, tok)
			wantCode(t, err, fleet.EUNAUTHORIZED)
		})
	}
	db, _ := openDB(t)
	for _, tok := range []string{"", "unknown"} {
		_, err := db.SessionUser(context.Background(), tok)
		wantCode(t, err, fleet.EUNAUTHORIZED)
	}
}

// A page view touches its session (and the user's last seen) at most once
// a minute: a read stays a read.
func TestSessionTouchedOnceAMinute(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	u := addUser(t, db, "ada@example.com", fleet.RoleAdmin)
	tok, err := db.CreateSession(ctx, u.ID, "", "")
	must(t, err)
	lastSeen := func() time.Time {
		info, err := db.UserInfoByID(ctx, u.ID)
		must(t, err)
		return info.LastSeenAt
	}
	for _, c := range []struct {
		step time.Duration
		want time.Time
	}{
		{30 * time.Second, start},
		{30 * time.Second, start}, // a minute exactly
		{time.Second, start.Add(61 * time.Second)},
	} {
		clk.Add(c.step)
		_, err := db.SessionUser(ctx, tok)
		must(t, err)
		if got := lastSeen(); !got.Equal(c.want) {
			t.Errorf("at %v last seen %v, want %v", clk.Now().Sub(start), got, c.want)
		}
	}
}

func TestPurgeSessions(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	u := addUser(t, db, "ada@example.com", fleet.RoleAdmin)
	_, err := db.CreateSession(ctx, u.ID, "", "")
	must(t, err)
	_, err = db.Login(ctx, "ada@example.com", "wrong password here", "10.0.0.1")
	wantCode(t, err, fleet.EUNAUTHORIZED)
	_, tok, err := db.CreateAPIToken(ctx, "ci", fleet.RoleViewer, "ada@example.com", 0)
	must(t, err)
	_, _, err = db.APIRateHit(ctx, tok.ID, 10)
	must(t, err)
	must(t, db.ClaimTenantJob(ctx, &fleet.Tenant{Name: "x", Status: fleet.StatusCreating, CreatedAt: start}, &fleet.Job{Kind: fleet.JobCreate},
		&central.Once{Actor: "a", Key: "k", Hash: "h"}))

	clk.Add(central.SessionIdle + time.Minute)
	fresh, err := db.CreateSession(ctx, u.ID, "", "")
	must(t, err)
	must(t, db.PurgeSessions(ctx))
	for table, want := range map[string]int64{"sessions": 1, "login_failures": 0, "api_rate": 0, "api_idempotency": 1} {
		if n := count(t, db, `SELECT count(*) FROM `+table); n != want {
			t.Errorf("%d rows left in %s, want %d", n, table, want)
		}
	}
	if _, err := db.SessionUser(ctx, fresh); err != nil {
		t.Errorf("the fresh session was purged: %v", err)
	}
	clk.Add(central.IdempotencyTTL)
	must(t, db.PurgeSessions(ctx))
	if n := count(t, db, `SELECT count(*) FROM api_idempotency`); n != 0 {
		t.Errorf("%d idempotency keys outlived their day", n)
	}
}

func TestUserInfos(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	bob := addUser(t, db, "bob@example.com", fleet.RoleViewer)
	ada := addUser(t, db, "ada@example.com", fleet.RoleAdmin)
	for range 2 {
		_, err := db.CreateSession(ctx, ada.ID, "", "")
		must(t, err)
	}
	clk.Add(central.SessionIdle + time.Second) // both idle now
	_, err := db.CreateSession(ctx, ada.ID, "", "")
	must(t, err)
	us, err := db.Users(ctx)
	must(t, err)
	if len(us) != 2 || us[0].Email != "ada@example.com" || us[0].Sessions != 1 || !us[0].LastSeenAt.Equal(clk.Now()) ||
		us[1].Sessions != 0 || !us[1].LastSeenAt.IsZero() {
		t.Errorf("users %+v", us)
	}
	for _, c := range []struct {
		get  func() (*central.UserInfo, error)
		want int64
		code string
	}{
		{func() (*central.UserInfo, error) { return db.UserInfoByID(ctx, bob.ID) }, bob.ID, ""},
		{func() (*central.UserInfo, error) { return db.UserInfoByEmail(ctx, " BOB@example.com ") }, bob.ID, ""},
		{func() (*central.UserInfo, error) { return db.UserInfoByID(ctx, 99) }, 0, fleet.ENOTFOUND},
		{func() (*central.UserInfo, error) { return db.UserInfoByEmail(ctx, "nobody@example.com") }, 0, fleet.ENOTFOUND},
	} {
		u, err := c.get()
		wantCode(t, err, c.code)
		if err == nil && u.ID != c.want {
			t.Errorf("got user %d, want %d", u.ID, c.want)
		}
	}
}

// The last active admin can be neither demoted nor disabled, so someone
// can always manage users.
func TestLastActiveAdmin(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	ada := addUser(t, db, "ada@example.com", fleet.RoleAdmin)
	bob := addUser(t, db, "bob@example.com", fleet.RoleViewer)
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"demote the only admin", func() error { return db.SetRole(ctx, ada.ID, fleet.RoleViewer) }, fleet.ECONFLICT},
		{"disable the only admin", func() error { _, err := db.SetDisabled(ctx, ada.ID, true); return err }, fleet.ECONFLICT},
		{"an unknown role", func() error { return db.SetRole(ctx, bob.ID, "owner") }, fleet.EINVALID},
		{"demote an unknown user", func() error { return db.SetRole(ctx, 99, fleet.RoleViewer) }, fleet.ENOTFOUND},
		{"promote an unknown user", func() error { return db.SetRole(ctx, 99, fleet.RoleAdmin) }, fleet.ENOTFOUND},
		{"enable an unknown user", func() error { _, err := db.SetDisabled(ctx, 99, false); return err }, fleet.ENOTFOUND},
		{"promote bob", func() error { return db.SetRole(ctx, bob.ID, fleet.RoleAdmin) }, ""},
		{"disable bob", func() error { _, err := db.SetDisabled(ctx, bob.ID, true); return err }, ""},
		{"a disabled admin is not active", func() error { return db.SetRole(ctx, ada.ID, fleet.RoleViewer) }, fleet.ECONFLICT},
		{"enable bob", func() error { _, err := db.SetDisabled(ctx, bob.ID, false); return err }, ""},
		{"demote ada beside bob", func() error { return db.SetRole(ctx, ada.ID, fleet.RoleViewer) }, ""},
		{"demote bob, the last one", func() error { return db.SetRole(ctx, bob.ID, fleet.RoleViewer) }, fleet.ECONFLICT},
		{"disable ada, no admin", func() error { _, err := db.SetDisabled(ctx, ada.ID, true); return err }, ""},
	}
	for _, s := range steps {
		err := s.do()
		if fleet.ErrorCode(err) != s.want {
			t.Fatalf("%s: %v, want code %q", s.name, err, s.want)
		}
		if s.want == fleet.ECONFLICT && !strings.Contains(err.Error(), "last active admin") {
			t.Errorf("%s: %q does not say why", s.name, err)
		}
	}
}

func TestDisablingAndNewPasswordEndSessions(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	addUser(t, db, "ada@example.com", fleet.RoleAdmin)
	bob := addUser(t, db, "bob@example.com", fleet.RoleViewer)
	for range 2 {
		_, err := db.CreateSession(ctx, bob.ID, "", "")
		must(t, err)
	}
	n, err := db.SetPassword(ctx, bob.ID, "another set of plain words")
	if err != nil || n != 2 {
		t.Fatalf("new password ended %d sessions, %v; want 2", n, err)
	}
	if _, err := db.Authenticate(ctx, "bob@example.com", password); err == nil {
		t.Error("the old password still works")
	}
	if _, err := db.Authenticate(ctx, "bob@example.com", "another set of plain words"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	_, err = db.CreateSession(ctx, bob.ID, "", "")
	must(t, err)
	if n, err := db.SetDisabled(ctx, bob.ID, true); err != nil || n != 1 {
		t.Errorf("disabling ended %d sessions, %v; want 1", n, err)
	}
	_, err = db.SetPassword(ctx, bob.ID, "short")
	wantCode(t, err, fleet.EINVALID)
	_, err = db.SetPassword(ctx, 99, "another set of plain words")
	wantCode(t, err, fleet.ENOTFOUND)
}

// Failed logins are throttled per e-mail and per address, known
// addresses or not; the wait is until the oldest counted failure leaves
// the window.
func TestLoginThrottle(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	addUser(t, db, "ada@example.com", fleet.RoleAdmin)
	login := func(email, pw, addr string) error { _, err := db.Login(ctx, email, pw, addr); return err }
	throttled := func(err error) time.Duration {
		var te *central.ThrottledError
		if !errors.As(err, &te) {
			return 0
		}
		return te.RetryAfter
	}

	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		for i := range central.MaxAccountFailures {
			err := login(email, "wrong password here", fmt.Sprintf("10.0.0.%d", i))
			wantCode(t, err, fleet.EUNAUTHORIZED)
			clk.Add(time.Minute)
		}
		// The right password is refused unchecked, from anywhere, until
		// the first failure is LoginWindow old.
		err := login(email, password, "10.9.9.9")
		if d := throttled(err); d != central.LoginWindow-central.MaxAccountFailures*time.Minute {
			t.Fatalf("%s after %d failures: %v (wait %v)", email, central.MaxAccountFailures, err, d)
		}
		clk.Add(central.LoginWindow - central.MaxAccountFailures*time.Minute)
		if err := login(email, "wrong password here", "10.9.9.9"); throttled(err) != 0 {
			t.Fatalf("%s still throttled after the window: %v", email, err)
		}
	}
	// A success clears the e-mail's count: five more failures are allowed.
	clk.Add(central.LoginWindow)
	for range central.MaxAccountFailures - 1 {
		wantCode(t, login("ada@example.com", "wrong password here", "10.1.1.1"), fleet.EUNAUTHORIZED)
	}
	must(t, login("ADA@example.com", password, "10.1.1.1"))
	for range central.MaxAccountFailures {
		wantCode(t, login("ada@example.com", "wrong password here", "10.1.1.2"), fleet.EUNAUTHORIZED)
	}
	// One address guessing at many accounts is throttled too.
	clk.Add(central.LoginWindow)
	for i := range central.MaxAddressFailures {
		wantCode(t, login(fmt.Sprintf("u%d@example.com", i), "wrong password here", "10.6.6.6"), fleet.EUNAUTHORIZED)
	}
	if d := throttled(login("ada@example.com", password, "10.6.6.6")); d != central.LoginWindow {
		t.Errorf("address after %d failures: wait %v, want %v", central.MaxAddressFailures, d, central.LoginWindow)
	}
	must(t, login("ada@example.com", password, "10.7.7.7"))
}

func TestThrottledErrorSaysMinutes(t *testing.T) {
	for _, c := range []struct {
		wait time.Duration
		want string
	}{
		{0, "1 minute."},
		{time.Second, "1 minute."},
		{time.Minute, "1 minute."},
		{time.Minute + time.Second, "2 minutes."},
		{15 * time.Minute, "15 minutes."},
	} {
		if got := (&central.ThrottledError{RetryAfter: c.wait}).Error(); !strings.HasSuffix(got, "Try again in "+c.want) {
			t.Errorf("wait %v: %q", c.wait, got)
		}
	}
}

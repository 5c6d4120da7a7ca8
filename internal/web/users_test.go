package web_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/web"
)

// userID is a user's id, by e-mail.
func userID(t *testing.T, e *env, email string) string {
	t.Helper()
	u, err := e.db.UserInfoByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(u.ID, 10)
}

func userInfo(t *testing.T, e *env, email string) *central.UserInfo {
	t.Helper()
	u, err := e.db.UserInfoByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// lastAudit is the newest audit entry of an action.
func lastAudit(t *testing.T, e *env, action string) fleet.AuditEntry {
	t.Helper()
	es, err := e.db.AuditLog(context.Background(), central.AuditFilter{Action: action, Limit: 1})
	if err != nil || len(es) == 0 {
		t.Fatalf("no %s audit entry (%v)", action, err)
	}
	return es[0]
}

// loginAs returns a client logged in with a password.
func (e *env) loginAs(email, pw string) *client {
	e.t.Helper()
	c := e.anon()
	c.refreshCSRF("/login")
	if res := c.post("/login", url.Values{"email": {email}, "password": {pw}}); res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login as %s: %d", email, res.StatusCode)
	}
	c.refreshCSRF("/")
	return c
}

// loggedIn reports whether a client's session still lets it in.
func loggedIn(c *client) bool {
	res := c.get("/")
	return res.StatusCode == http.StatusOK
}

func TestUsersAddAndList(t *testing.T) {
	e := newEnv(t)
	c := e.login("admin@example.com")

	doc := c.doc(c.get("/users"))
	if n := doc.Find(`[data-testid="user-row"]`).Length(); n != 2 {
		t.Fatalf("the users page lists %d users, want 2", n)
	}
	if !doc.Find(`[data-testid="nav-users"]`).HasClass("active") {
		t.Error("the Users nav entry is not active on /users")
	}
	me := doc.Find(`[data-testid="user-row"][data-email="admin@example.com"]`)
	if !strings.Contains(me.Text(), "you") || me.Find(`[data-testid="user-sessions"]`).Text() != "1" {
		t.Errorf("the admin's own row: %q", strings.Join(strings.Fields(me.Text()), " "))
	}

	// Refusals keep the form and say why; each is audited.
	for _, tc := range []struct {
		form   url.Values
		status int
		msg    string
	}{
		{url.Values{"email": {"new@example.com"}, "role": {"viewer"}, "password": {"short"}}, 400, "too short"},
		{url.Values{"email": {"not an address"}, "role": {"viewer"}, "password": {password}}, 400, "not a valid e-mail"},
		{url.Values{"email": {"new@example.com"}, "role": {"root"}, "password": {password}}, 400, "invalid"},
		{url.Values{"email": {"Viewer@example.com"}, "role": {"viewer"}, "password": {password}}, 409, "already exists"},
	} {
		res := c.post("/users", tc.form)
		doc := c.doc(res)
		msg := doc.Find(`[data-testid="inline-error"]`).Text()
		if res.StatusCode != tc.status || !strings.Contains(msg, tc.msg) {
			t.Errorf("add %v: %d %q, want %d %q", tc.form, res.StatusCode, msg, tc.status, tc.msg)
		}
		if v, _ := doc.Find(`#add-email`).Attr("value"); v != tc.form.Get("email") {
			t.Errorf("add %v: the form kept %q", tc.form, v)
		}
		if a := lastAudit(t, e, "user.add"); a.Outcome != "error" || a.Actor != "admin@example.com" || !strings.Contains(a.Error, tc.msg) {
			t.Errorf("add %v audited as %+v", tc.form, a)
		}
	}

	res := c.post("/users", url.Values{"email": {"New@Example.com"}, "role": {"viewer"}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/users" {
		t.Fatalf("add: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	doc = c.doc(c.get("/users"))
	row := doc.Find(`[data-testid="user-row"][data-email="new@example.com"]`)
	if row.Length() != 1 || row.AttrOr("data-role", "") != "viewer" || row.AttrOr("data-status", "") != "active" {
		t.Fatalf("the new user's row: %d %v", row.Length(), row.Nodes)
	}
	if !strings.Contains(doc.Find(`[data-testid="flash"]`).Text(), "new@example.com") {
		t.Error("no flash names the added user")
	}
	if a := lastAudit(t, e, "user.add"); a.Outcome != "ok" || a.Detail != "new@example.com: as viewer" {
		t.Errorf("add audited as %+v", a)
	}
	if !loggedIn(e.loginAs("new@example.com", password)) {
		t.Error("the added user cannot log in")
	}

	// JSON: the list, and an add answering the user.
	list := jsonBody[[]central.UserInfo](t, c.get("/users", "Accept", "application/json"))
	if len(list) != 3 || list[1].Email != "new@example.com" || list[1].Sessions != 1 || list[1].LastSeenAt.IsZero() {
		t.Errorf("JSON list: %+v", list)
	}
	res = c.postJSON("/users", url.Values{"email": {"api@example.com"}, "role": {"admin"}, "password": {password}})
	if u := jsonBody[central.UserInfo](t, res); res.StatusCode != http.StatusCreated || u.Email != "api@example.com" || u.Role != "admin" || u.ID == 0 {
		t.Errorf("JSON add: %d %+v", res.StatusCode, u)
	}
	res = c.postJSON("/users", url.Values{"email": {"api@example.com"}, "role": {"admin"}, "password": {password}})
	if body := jsonBody[map[string]string](t, res); res.StatusCode != http.StatusConflict || !strings.Contains(body["error"], "already exists") {
		t.Errorf("JSON duplicate add: %d %v", res.StatusCode, body)
	}
	id := userID(t, e, "api@example.com")
	res = c.postJSON("/users/"+id+"/disable", url.Values{"confirm": {"api@example.com"}})
	if u := jsonBody[central.UserInfo](t, res); res.StatusCode != http.StatusOK || !u.Disabled {
		t.Errorf("JSON disable: %d %+v", res.StatusCode, u)
	}
	if res := c.get("/users/"+id, "Accept", "application/json"); jsonBody[central.UserInfo](t, res).Email != "api@example.com" {
		t.Error("JSON user")
	}
}

// postJSON posts a form asking for a JSON answer.
func (c *client) postJSON(path string, form url.Values) *http.Response {
	c.e.t.Helper()
	form.Set("csrf", c.csrf)
	req, _ := http.NewRequest(http.MethodPost, c.e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return c.do(req)
}

func TestUserRoleChange(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin@example.com")
	viewer := e.login("viewer@example.com")
	vid := userID(t, e, "viewer@example.com")

	// A viewer is refused, and promoted takes effect on the next request.
	if res := viewer.post("/tenants/rescan", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer rescan: %d", res.StatusCode)
	}
	res := admin.post("/users/"+vid+"/role", url.Values{"role": {"admin"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("promote: %d", res.StatusCode)
	}
	if res := viewer.post("/tenants/rescan", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the promoted viewer's next request: %d, want it to go through", res.StatusCode)
	}
	if a := lastAudit(t, e, "user.role"); a.Detail != "viewer@example.com: viewer → admin" || a.Outcome != "ok" {
		t.Errorf("promotion audited as %+v", a)
	}

	// A demotion asks first and changes nothing until confirmed.
	res = admin.post("/users/"+vid+"/role", url.Values{"role": {"viewer"}})
	doc := admin.doc(res)
	if res.StatusCode != http.StatusOK || doc.Find(`[data-testid="confirm-panel"][data-action="role"]`).Length() != 1 {
		t.Fatalf("unconfirmed demotion: %d, confirm panel %d", res.StatusCode, doc.Find(`[data-testid="confirm-panel"]`).Length())
	}
	if u := userInfo(t, e, "viewer@example.com"); u.Role != "admin" {
		t.Fatalf("an unconfirmed demotion changed the role to %s", u.Role)
	}
	// The panel's own form carries the confirmation.
	form := url.Values{}
	doc.Find(`[data-testid="confirm-panel"] input`).Each(func(_ int, s *goquery.Selection) {
		form.Set(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	action := doc.Find(`[data-testid="confirm-panel"] form`).AttrOr("action", "")
	if res := admin.post(action, form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirmed demotion: %d", res.StatusCode)
	}
	if res := viewer.post("/tenants/rescan", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("the demoted user's next request: %d, want 403", res.StatusCode)
	}

	// JSON without the confirmation is told what to send.
	if _, err := e.db.AddUser(t.Context(), "admin2@example.com", password, fleet.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	a2 := userID(t, e, "admin2@example.com")
	jres := admin.postJSON("/users/"+a2+"/role", url.Values{"role": {"viewer"}})
	if body := jsonBody[map[string]string](t, jres); jres.StatusCode != http.StatusBadRequest || !strings.Contains(body["error"], "confirm=admin2@example.com") {
		t.Errorf("JSON demotion without confirm: %d %v", jres.StatusCode, body)
	}

	// An admin cannot demote themselves.
	me := userID(t, e, "admin@example.com")
	res = admin.post("/users/"+me+"/role", url.Values{"role": {"viewer"}, "confirm": {"admin@example.com"}})
	if msg := admin.doc(res).Find(`[data-testid="inline-error"]`).Text(); res.StatusCode != http.StatusForbidden || !strings.Contains(msg, "cannot demote yourself") {
		t.Errorf("self-demotion: %d %q", res.StatusCode, msg)
	}
	if u := userInfo(t, e, "admin@example.com"); u.Role != "admin" {
		t.Fatal("an admin demoted themselves")
	}
	if a := lastAudit(t, e, "user.role"); a.Outcome != "error" || !strings.HasPrefix(a.Detail, "admin@example.com") {
		t.Errorf("refused self-demotion audited as %+v", a)
	}
	doc = admin.doc(admin.get("/users/" + me))
	if doc.Find(`[data-testid="role-form"]`).Length() != 0 || doc.Find(`[data-testid="disable-form"]`).Length() != 0 {
		t.Error("an admin's own page offers to demote or disable them")
	}
}

// TestLastAdmin: the last active admin cannot be demoted or disabled, by
// anyone, however the requests interleave.
func TestLastAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a1 := userInfo(t, e, "admin@example.com")
	a2, err := e.db.AddUser(ctx, "admin2@example.com", password, fleet.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	// Two admins demoting each other at once: one must fail.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []int64{a1.ID, a2.ID} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.db.SetRole(ctx, id, fleet.RoleViewer)
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("concurrent demotions of the two admins: %v, %v; want exactly one refused", errs[0], errs[1])
	}
	last := a1
	if errs[0] == nil {
		last = &central.UserInfo{ID: a2.ID, Email: a2.Email}
	}
	for _, err := range []error{e.db.SetRole(ctx, last.ID, fleet.RoleViewer), func() error { _, err := e.db.SetDisabled(ctx, last.ID, true); return err }()} {
		if fleet.ErrorCode(err) != fleet.ECONFLICT || !strings.Contains(fleet.ErrorMessage(err), last.Email+" is the last active admin") {
			t.Errorf("changing the last admin: %v", err)
		}
	}
	// A disabled admin does not count as one.
	other := a2.ID
	if last.ID == a2.ID {
		other = a1.ID
	}
	if err := e.db.SetRole(ctx, other, fleet.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.SetDisabled(ctx, other, true); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetRole(ctx, last.ID, fleet.RoleViewer); fleet.ErrorCode(err) != fleet.ECONFLICT {
		t.Errorf("demoting the last active admin beside a disabled one: %v", err)
	}
}

func TestUserDisableEndsSessions(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin@example.com")
	viewer := e.login("viewer@example.com")
	viewer2 := e.login("viewer@example.com")
	vid := userID(t, e, "viewer@example.com")

	res := admin.post("/users/"+vid+"/disable", nil)
	if doc := admin.doc(res); res.StatusCode != http.StatusOK || doc.Find(`[data-testid="confirm-panel"][data-action="disable"]`).Length() != 1 {
		t.Fatalf("unconfirmed disable: %d", res.StatusCode)
	}
	if !loggedIn(viewer) {
		t.Fatal("an unconfirmed disable ended the viewer's session")
	}
	res = admin.post("/users/"+vid+"/disable", url.Values{"confirm": {"viewer@example.com"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", res.StatusCode)
	}
	if loggedIn(viewer) || loggedIn(viewer2) {
		t.Fatal("a disabled user's sessions go on")
	}
	if n := userInfo(t, e, "viewer@example.com").Sessions; n != 0 {
		t.Errorf("%d sessions left", n)
	}
	if a := lastAudit(t, e, "user.disable"); a.Detail != "viewer@example.com: 2 sessions ended" || a.Actor != "admin@example.com" {
		t.Errorf("disable audited as %+v", a)
	}
	c := e.anon()
	c.refreshCSRF("/login")
	res = c.post("/login", url.Values{"email": {"viewer@example.com"}, "password": {password}})
	if msg := c.doc(res).Find(`[data-testid="login-error"]`).Text(); res.StatusCode != http.StatusUnauthorized || !strings.Contains(msg, "disabled") {
		t.Errorf("a disabled user's login: %d %q", res.StatusCode, msg)
	}

	// Enabled again, they log in.
	if res := admin.post("/users/"+vid+"/enable", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable: %d", res.StatusCode)
	}
	if !loggedIn(e.login("viewer@example.com")) {
		t.Error("an enabled user cannot log in")
	}
	if a := lastAudit(t, e, "user.enable"); a.Detail != "viewer@example.com" || a.Outcome != "ok" {
		t.Errorf("enable audited as %+v", a)
	}

	// Nobody disables themselves.
	me := userID(t, e, "admin@example.com")
	res = admin.post("/users/"+me+"/disable", url.Values{"confirm": {"admin@example.com"}})
	if res.StatusCode != http.StatusForbidden || !loggedIn(admin) {
		t.Errorf("self-disable: %d", res.StatusCode)
	}
}

func TestUserPasswordResetEndsSessions(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin@example.com")
	adminElsewhere := e.login("admin@example.com")
	viewer := e.login("viewer@example.com")
	vid, me := userID(t, e, "viewer@example.com"), userID(t, e, "admin@example.com")
	const newPassword = "a brand new password"

	res := admin.post("/users/"+vid+"/password", url.Values{"password": {"short"}})
	if msg := admin.doc(res).Find(`[data-testid="inline-error"]`).Text(); res.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "too short") {
		t.Errorf("short password: %d %q", res.StatusCode, msg)
	}
	if !loggedIn(viewer) {
		t.Fatal("a refused reset ended the viewer's session")
	}
	if res := admin.post("/users/"+vid+"/password", url.Values{"password": {newPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d", res.StatusCode)
	}
	if loggedIn(viewer) {
		t.Fatal("the viewer's session outlived a password reset")
	}
	if a := lastAudit(t, e, "user.password"); a.Detail != "viewer@example.com: reset, 1 session ended" || strings.Contains(a.Detail+a.Error, newPassword) {
		t.Errorf("reset audited as %+v", a)
	}
	if !loggedIn(e.loginAs("viewer@example.com", newPassword)) {
		t.Error("the new password does not work")
	}

	// An admin changing their own password stays logged in here only.
	if res := admin.post("/users/"+me+"/password", url.Values{"password": {newPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("own reset: %d", res.StatusCode)
	}
	if !loggedIn(admin) {
		t.Error("changing one's own password logged this browser out")
	}
	if loggedIn(adminElsewhere) {
		t.Error("changing one's own password left the other session in")
	}
}

// TestLoginThrottle: too many failures for an account or from an address
// get 429 without the password being checked, for unknown accounts too,
// until the window passes; a success clears the account's count.
func TestLoginThrottle(t *testing.T) {
	// The test client stands in for a TLS proxy on loopback that passes
	// the client's address on.
	e := newEnvWith(t, t.TempDir(), schema.Embedded(), func(o *web.Options) {
		o.TrustedProxies = []*net.IPNet{{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)}}
	})
	e.clock.Set(time.Now())
	advance := e.clock.Add
	try := func(email, pw, addr string) (int, string, string) {
		t.Helper()
		c := e.anon()
		c.refreshCSRF("/login")
		form := url.Values{"email": {email}, "password": {pw}, "csrf": {c.csrf}}
		req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", addr)
		res := c.do(req)
		return res.StatusCode, c.doc(res).Find(`[data-testid="login-error"]`).Text(), res.Header.Get("Retry-After")
	}

	for _, email := range []string{"viewer@example.com", "nobody@example.com"} {
		for i := range central.MaxAccountFailures {
			if code, _, _ := try(email, "wrong password", "10.0.0."+strconv.Itoa(i+1)); code != http.StatusUnauthorized {
				t.Fatalf("%s failure %d: %d", email, i+1, code)
			}
			advance(time.Minute)
		}
		// Throttled even with the right password, from a fresh address.
		code, msg, retry := try(email, password, "10.0.1.1")
		if code != http.StatusTooManyRequests || !strings.Contains(msg, "Too many failed logins") || !strings.Contains(msg, "Try again in 10 minutes") {
			t.Errorf("%s after %d failures: %d %q", email, central.MaxAccountFailures, code, msg)
		}
		if retry != "600" {
			t.Errorf("%s: Retry-After %q", email, retry)
		}
	}
	// The throttle refused without checking: no failure was added, and a
	// throttled attempt is not audited.
	var n int
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM login_failures WHERE email = 'viewer@example.com'`).Scan(&n); err != nil || n != central.MaxAccountFailures {
		t.Fatalf("failures recorded: %d %v", n, err)
	}
	// Other accounts still log in.
	if code, _, _ := try("admin@example.com", password, "10.0.1.1"); code != http.StatusSeeOther {
		t.Fatalf("another account: %d", code)
	}
	// Once the oldest failure is out of the window, a try is checked.
	advance(5*time.Minute + time.Second)
	if code, _, _ := try("viewer@example.com", password, "10.0.1.1"); code != http.StatusSeeOther {
		t.Fatalf("after the window: %d", code)
	}
	// The success cleared the account's count.
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM login_failures WHERE email = 'viewer@example.com'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("failures left after a success: %d %v", n, err)
	}

	// Per address: many accounts from one address.
	for i := range central.MaxAddressFailures {
		if code, _, _ := try("guess"+strconv.Itoa(i)+"@example.com", "wrong password", "192.0.2.7"); code != http.StatusUnauthorized {
			t.Fatalf("address failure %d: %d", i+1, code)
		}
	}
	if code, msg, _ := try("admin@example.com", password, "192.0.2.7"); code != http.StatusTooManyRequests || !strings.Contains(msg, "Try again in 15 minutes") {
		t.Errorf("from a throttled address: %d %q", code, msg)
	}
	if code, _, _ := try("admin@example.com", password, "192.0.2.8"); code != http.StatusSeeOther {
		t.Errorf("from another address: %d", code)
	}

	// The housekeeping purge drops failures once they no longer count.
	if err := e.db.PurgeSessions(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM login_failures`).Scan(&n); err != nil || n != central.MaxAccountFailures+central.MaxAddressFailures {
		t.Fatalf("purge within the window left %d of %d", n, central.MaxAccountFailures+central.MaxAddressFailures)
	}
	advance(central.LoginWindow)
	if err := e.db.PurgeSessions(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM login_failures`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("purge after the window left %d", n)
	}
}

package web_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/schema"
	"github.com/tenantry/tenantry/internal/web"
)

// TestMultipartRefusedBeforeReading: a multipart body, anonymous or not,
// is refused with 415 and leaves no temp file behind. Parsing one spooled
// its file parts into $TMPDIR, where nothing removed them.
func TestMultipartRefusedBeforeReading(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := newEnv(t)
	admin := e.login("admin@example.com")
	anon := e.anon()
	anon.refreshCSRF("/login")

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", admin.csrf)
	_ = mw.WriteField("email", "admin@example.com")
	fw, _ := mw.CreateFormFile("upload", "big.bin")
	// Over the 32 MB a multipart parse keeps in memory: the rest would go
	// to a temp file.
	_, _ = fw.Write(bytes.Repeat([]byte("x"), 33<<20))
	_ = mw.Close()
	for _, tc := range []struct {
		who  *client
		path string
	}{{anon, "/login"}, {admin, "/login"}, {admin, "/tenants"}, {admin, "/users"}, {anon, "/no-such-route"}} {
		req, _ := http.NewRequest(http.MethodPost, e.ts.URL+tc.path, bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res := tc.who.do(req)
		_, _ = io.Copy(io.Discard, res.Body)
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("POST %s multipart: %d, want 415", tc.path, res.StatusCode)
		}
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range left {
		t.Errorf("left in TMPDIR: %s", f.Name())
	}
}

// TestLoginThrottleConcurrent: wrong passwords sent at once for one
// account, through two console replicas sharing the central database, are
// checked at most MaxAccountFailures times; the rest are throttled.
func TestLoginThrottleConcurrent(t *testing.T) {
	// A slower hash widens the gap between check and record that a
	// non-atomic throttle leaves open.
	central.SetBcryptCost(8)
	t.Cleanup(func() { central.SetBcryptCost(4) })
	e := newEnv(t)
	replica := newEnvIn(t, e.dir)
	const attempts = 12
	var wg sync.WaitGroup
	codes := make(chan int, attempts)
	start := make(chan struct{})
	for i := range attempts {
		srv := e
		if i%2 == 1 {
			srv = replica
		}
		c := srv.anon()
		c.refreshCSRF("/login")
		wg.Go(func() {
			<-start
			form := url.Values{"email": {"viewer@example.com"}, "password": {"a wrong password, guessed"}, "csrf": {c.csrf}}
			req, _ := http.NewRequest(http.MethodPost, srv.ts.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := c.http.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		})
	}
	close(start)
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[http.StatusUnauthorized] != central.MaxAccountFailures || count[http.StatusTooManyRequests] != attempts-central.MaxAccountFailures {
		t.Fatalf("answers: %v; want %d checked (401) and the rest throttled (429)", count, central.MaxAccountFailures)
	}
	var n int
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM login_failures WHERE email = 'viewer@example.com'`).Scan(&n); err != nil || n != central.MaxAccountFailures {
		t.Fatalf("failures recorded: %d %v", n, err)
	}
}

// TestLoginTimingHidesAccounts: a login for an unknown e-mail takes as
// long as one for a known e-mail with a wrong password: both compare
// against a hash of the same cost. A cheaper dummy hash told which
// accounts exist.
func TestLoginTimingHidesAccounts(t *testing.T) {
	e := newEnv(t)
	central.SetBcryptCost(10) // about 60 ms a comparison, against 1 ms at cost 4
	t.Cleanup(func() { central.SetBcryptCost(4) })
	ctx := context.Background()
	if _, err := e.db.AddUser(ctx, "known@example.com", "a password of some length", fleet.RoleViewer); err != nil {
		t.Fatal(err)
	}
	fastest := func(email string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			if _, err := e.db.Authenticate(ctx, email, "not the right password"); fleet.ErrorCode(err) != fleet.EUNAUTHORIZED {
				t.Fatalf("%s: %v", email, err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	_ = fastest("unknown@example.com") // the dummy hash is made on first use
	known, unknown := fastest("known@example.com"), fastest("unknown@example.com")
	// The costs differ by 64 times when the dummy hash is cheaper; a
	// factor of 3 either way leaves room for a busy machine.
	if unknown*3 < known || known*3 < unknown {
		t.Fatalf("a known e-mail takes %v, an unknown one %v: the difference tells which accounts exist", known, unknown)
	}
}

// TestLoginRedirectStaysOnSite: ?next= values a browser would follow off
// site send the user to / after login; paths on the site are kept.
func TestLoginRedirectStaysOnSite(t *testing.T) {
	e := newEnv(t)
	for next, want := range map[string]string{
		"/tenants?status=ready#x":        "/tenants?status=ready#x",
		"/sql?tenant=store-1&sql=SELECT": "/sql?tenant=store-1&sql=SELECT",
		"/\t/evil.example":               "/",
		"/\n/evil.example":               "/",
		"/\r\n/evil.example":             "/",
		"\t//evil.example":               "/",
		"//evil.example":                 "/",
		"/\\evil.example":                "/",
		"\\\\evil.example":               "/",
		"/%09/evil.example":              "/%09/evil.example", // percent-encoded, a browser keeps it in the path
		"https://evil.example/":          "/",
		"javascript:alert(1)":            "/",
		" /evil":                         "/",
		"/ /evil.example":                "/",
		"///evil.example":                "/",
	} {
		c := e.anon()
		c.refreshCSRF("/login")
		res := c.post("/login", url.Values{"email": {"admin@example.com"}, "password": {password}, "next": {next}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Errorf("next=%q: %d to %q, want %q", next, res.StatusCode, res.Header.Get("Location"), want)
		}
		// The login form carries the same judgement.
		doc := c.doc(e.anon().get("/login?next=" + url.QueryEscape(next)))
		if v, _ := doc.Find(`input[name="next"]`).Attr("value"); v != want {
			t.Errorf("login form for next=%q carries %q, want %q", next, v, want)
		}
	}
}

// TestForwardedForIgnoredByDefault: without --trusted-proxies, the
// client's address is the connection's peer, whatever X-Forwarded-For
// says: a guesser cannot dodge the per-address throttle or forge the
// audit log's address by writing the header.
func TestForwardedForIgnoredByDefault(t *testing.T) {
	e := newEnv(t)
	try := func(e *env, forged string) int {
		c := e.anon()
		c.refreshCSRF("/login")
		form := url.Values{"email": {"nobody" + strconv.Itoa(rand.Int()) + "@example.com"}, "password": {"a wrong password here"}, "csrf": {c.csrf}}
		req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "203.0.113."+forged)
		return c.do(req).StatusCode
	}
	for i := range central.MaxAddressFailures {
		if code := try(e, strings.Repeat("1", 1+i%3)); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	if code := try(e, "99"); code != http.StatusTooManyRequests {
		t.Fatalf("a forged address escaped the throttle: %d", code)
	}
	entries, err := e.db.AuditLog(context.Background(), central.AuditFilter{Action: "user.login", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.Detail != "127.0.0.1" {
			t.Fatalf("audit records address %q, not the peer's", en.Detail)
		}
	}

	// A configured proxy's header is believed: the address is the one it
	// saw connect, the rightmost hop not itself a trusted proxy.
	p := newEnvWith(t, t.TempDir(), schema.Embedded(), func(o *web.Options) {
		o.TrustedProxies = []*net.IPNet{{IP: net.IPv4(127, 0, 0, 1), Mask: net.CIDRMask(32, 32)}}
	})
	if code := try(p, "7"); code != http.StatusUnauthorized {
		t.Fatal(code)
	}
	entries, err = p.db.AuditLog(context.Background(), central.AuditFilter{Action: "user.login", Limit: 1})
	if err != nil || len(entries) != 1 || entries[0].Detail != "203.0.113.7" {
		t.Fatalf("behind a trusted proxy: %+v %v", entries, err)
	}
}

// TestCSRFBoundToSession: a token an attacker holds (their own, planted
// as the victim's cookie and sent as the field) is refused with the
// victim's session; the victim's own token works.
func TestCSRFBoundToSession(t *testing.T) {
	e := newEnv(t)
	attacker := e.anon()
	attacker.refreshCSRF("/login")
	attackerCookie := ""
	for _, ck := range attacker.http.Jar.Cookies(mustURL(e.ts.URL)) {
		if ck.Name == "tenantry_csrf" {
			attackerCookie = ck.Value
		}
	}
	if attackerCookie == "" || attacker.csrf == "" {
		t.Fatal("no CSRF token before login")
	}
	// Another admin's own token, from their session, is no better.
	other := e.login("admin@example.com")

	victim := e.login("admin@example.com")
	victim.http.Jar.SetCookies(mustURL(e.ts.URL), []*http.Cookie{{Name: "tenantry_csrf", Value: attackerCookie, Path: "/"}})
	for name, tok := range map[string]string{"the attacker's pre-login token": attacker.csrf, "another session's token": other.csrf} {
		res := victim.post("/users", url.Values{"email": {"planted@example.com"}, "role": {"admin"}, "password": {"a planted admin password"}, "csrf": {tok}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, res.StatusCode)
		}
	}
	if _, err := e.db.UserByEmail(context.Background(), "planted@example.com"); fleet.ErrorCode(err) != fleet.ENOTFOUND {
		t.Fatalf("planted user: %v", err)
	}
	if res := victim.post("/users", url.Values{"email": {"real@example.com"}, "role": {"viewer"}, "password": {"the victim's own choice"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the victim's own token: %d", res.StatusCode)
	}
}

// TestPasswordRules: a password over bcrypt's 72 bytes is refused with a
// clear message on the form (not a 500), as are short, common and
// e-mail-based ones; a 72-byte one works, and only it logs in.
func TestPasswordRules(t *testing.T) {
	e := newEnv(t)
	admin := e.login("admin@example.com")
	for _, tc := range []struct{ pw, want string }{
		{strings.Repeat("long words ", 7) + "xyz", "too long"}, // 80 bytes
		{strings.Repeat("é", 37), "too long"},                  // 37 characters, 74 bytes
		{"fourteen chars", "too short"},                        // 14
		{"passwordpassword", "too easy"},                       // common
		{"123456789012345", "too easy"},                        // a run
		{"aaaaaaaaaaaaaaaaaaaa", "too easy"},                   // one character
		{"newbie@example.com!", "too easy"},                    // the e-mail
		{"tab\tinside the password", "control characters"},     //
		{"ok but \xff not utf-8 password", "not valid UTF-8"},  //
	} {
		res := admin.post("/users", url.Values{"email": {"newbie@example.com"}, "role": {"viewer"}, "password": {tc.pw}})
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
			t.Errorf("password %q: %d, want 400 with %q", tc.pw, res.StatusCode, tc.want)
		}
	}
	exact := strings.Repeat("seventy2 ", 8) // 72 bytes
	if res := admin.post("/users", url.Values{"email": {"newbie@example.com"}, "role": {"viewer"}, "password": {exact}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("72-byte password: %d", res.StatusCode)
	}
	if _, err := e.db.Authenticate(context.Background(), "newbie@example.com", exact+"anything"); fleet.ErrorCode(err) != fleet.EUNAUTHORIZED {
		t.Fatalf("a suffix past 72 bytes logged in: %v", err)
	}
	if _, err := e.db.Authenticate(context.Background(), "newbie@example.com", exact); err != nil {
		t.Fatal(err)
	}
}

// TestNoStoreForUsers: a logged-in user's pages are not cached; static
// files still are.
func TestNoStoreForUsers(t *testing.T) {
	e := newEnv(t)
	c := e.login("viewer@example.com")
	for _, path := range []string{"/", "/tenants", "/audit?days=7", "/sql", "/reports/top-stores", "/reports/top-stores.csv"} {
		if got := c.get(path).Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, got)
		}
	}
	if got := c.get("/static/app.css").Header.Get("Cache-Control"); strings.Contains(got, "no-store") {
		t.Errorf("static: Cache-Control %q", got)
	}
}

// TestFailedLoginAudit: a failed login names the account when it exists
// and "anonymous" otherwise: whatever was typed in the e-mail box (a
// password in the wrong field) is written nowhere.
func TestFailedLoginAudit(t *testing.T) {
	e := newEnv(t)
	for _, email := range []string{"my secret password 123", "Viewer@example.com"} {
		c := e.anon()
		c.refreshCSRF("/login")
		if res := c.post("/login", url.Values{"email": {email}, "password": {"wrong wrong wrong"}}); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%q: %d", email, res.StatusCode)
		}
	}
	entries, err := e.db.AuditLog(context.Background(), central.AuditFilter{Action: "user.login", Limit: 10})
	if err != nil || len(entries) != 2 {
		t.Fatalf("%+v %v", entries, err)
	}
	if entries[0].Actor != "viewer@example.com" || entries[1].Actor != "anonymous" {
		t.Fatalf("actors %q, %q", entries[0].Actor, entries[1].Actor)
	}
	var n int
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM audit_log WHERE actor || detail || error || action LIKE '%secret%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the typed text was kept: %d rows, %v", n, err)
	}
}

package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// fuzzClient is a logged-in admin's browser for fuzz targets, which may
// not call the env's testing.TB helpers from inside the target.
type fuzzClient struct {
	e     *env
	http  *http.Client
	email string
	csrf  string
}

// fuzzLogin logs in as email; a fuzzed request may have logged the
// client out (or disabled the account), and the next input needs a
// session again.
func (e *env) fuzzLogin(email string) (*fuzzClient, error) {
	jar, _ := cookiejar.New(nil)
	c := &fuzzClient{e: e, email: email, http: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	res, err := c.http.Get(e.ts.URL + "/login")
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	c.readCSRF()
	form := url.Values{"email": {email}, "password": {password}, "csrf": {c.csrf}}
	res, err = c.http.PostForm(e.ts.URL+"/login", form)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("login as %s: %d", email, res.StatusCode)
	}
	c.readCSRF()
	return c, nil
}

// readCSRF takes the double-submit token from the cookie jar.
func (c *fuzzClient) readCSRF() {
	for _, ck := range c.http.Jar.Cookies(mustURL(c.e.ts.URL)) {
		if ck.Name == "tenantry_csrf" {
			c.csrf = ck.Value
		}
	}
}

// loggedIn reports whether the session still works.
func (c *fuzzClient) loggedIn() bool {
	res, err := c.http.Get(c.e.ts.URL + "/tenants")
	if err != nil {
		return false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// fuzzEnv is a console with one ready tenant and a logged-in admin. When
// a fuzzed request ends the admin's session or account, session logs in
// again, as a new admin if need be.
type fuzzEnv struct {
	*env
	c      *fuzzClient
	admins int
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	e := newEnv(f)
	if _, err := e.life.Create(context.Background(), "test", "store-1"); err != nil {
		f.Fatal(err)
	}
	e.runJobs()
	c, err := e.fuzzLogin("admin@example.com")
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzEnv{env: e, c: c}
}

func (fe *fuzzEnv) session(t *testing.T) *fuzzClient {
	if fe.c.loggedIn() {
		return fe.c
	}
	c, err := fe.fuzzLogin(fe.c.email)
	if err != nil {
		fe.admins++
		email := fmt.Sprintf("admin-%d@example.com", fe.admins)
		if _, err := fe.db.AddUser(context.Background(), email, password, fleet.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		if c, err = fe.fuzzLogin(email); err != nil {
			t.Fatal(err)
		}
	}
	fe.c = c
	return c
}

// requestURI keeps a fuzzed path or query as raw as a client can send it:
// only the bytes no request line may hold are escaped.
func requestURI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

var fuzzContentTypes = []string{
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=fuzz",
	"application/json",
	"text/plain",
	"",
	"application/x-www-form-urlencoded; charset=ebcdic",
	"multipart/form-data",
	"application/xml",
}

// FuzzForms drives the whole router as a logged-in admin with fuzzed
// query strings and bodies on every GET and POST route (and wrong
// methods on them): whatever arrives, the answer is never a 5xx, which is
// also how a recovered panic would show.
func FuzzForms(f *testing.F) {
	fe := newFuzzEnv(f)
	var routes []string
	for _, r := range fe.srv.Routes() {
		if r.Method == http.MethodGet || r.Method == http.MethodPost {
			routes = append(routes, r.Method+" "+r.Path)
		}
	}
	slices.Sort(routes)
	routes = slices.Compact(routes)
	if len(routes) < 20 {
		f.Fatalf("only %d routes", len(routes))
	}
	// Seeds name their route; a fuzzed name that is no route picks one by
	// its hash, so committed inputs keep their meaning as routes come and go.
	seeds := []struct {
		route        string
		method       uint8
		param, query string
		body         string
		ctype, flags uint8
	}{
		{"GET /", 0, "store-1", "", "", 0, 0},
		{"GET /reports/daily-activity", 0, "", "from=2026-01-01&to=2025-01-01", "", 0, 3},
		{"GET /sql", 0, "", "sql=SELECT+1&tenant=store-1", "", 0, 0},
		{"GET /sql", 0, "", "sql=DELETE+FROM+orders&tenant=store-1&tenants=%2A&pattern=[", "", 0, 3},
		{"GET /tenants/:name", 0, "..%2f..%2fcentral", "page=-1&per=99999999999999999999", "", 0, 0},
		{"GET /reports/top-stores", 0, "", "month=2026-13&sort=%ff&desc=maybe", "", 0, 2},
		{"GET /tenants", 0, "%00", "q=%zz&status=%", "", 0, 0},
		{"POST /tenants", 0, "", "", "name=ok-name&csrf=x", 0, 2},
		{"POST /tenants/:name/delete", 0, "store-1", "", "confirm=store-2", 0, 0},
		{"POST /tenants", 0, "", "", `{"name": ["x"], "sql": 5}`, 2, 0},
		{"POST /tenants/import", 0, "", "", "--fuzz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../x.db\"\r\n\r\nSQLite format 3\x00\r\n--fuzz--\r\n", 1, 0},
		{"GET /jobs/:id", 0, "-1", "", "", 0, 0},
		{"GET /collections/:id", 0, "99999999999999999999", "", "", 0, 3},
		{"POST /tenants/:name/clone", 7, "store-1", "", "name=a", 0, 0},
		{"POST /sql/write", 0, "\xff\xfe", "tenants=\xff&sql=\xc3\x28", "tenant=\xff\xfe&sql=\xff", 5, 3},
		{"POST /tenants/:name/clone", 0, "store-1", "", "name=store-1&at=not-a-time", 0, 0},
		{"POST /sql/saved", 0, "", "", strings.Repeat("a=b&", 2000), 0, 0},
		{"POST /migrations", 0, "", "mode=canary&canary=0&parallel=1000", "mode=canary&canary=-5&parallel=0&on_error=sideways", 0, 0},
		{"POST /collections", 0, "", "", "from=2026-01-01&to=2029-12-31", 0, 0},
		{"POST /users", 0, "", "", "role=root&email=%40&password=", 0, 0},
		{"POST /tenants/rescan", 0, "", "", "", 6, 4},
		{"GET /login", 0, "", "next=//evil.example/&next=javascript:alert(1)", "", 0, 0},
		{"POST /sql/saved/:id/delete", 0, "0x10", "", "title=&sql=", 4, 2},
	}
	for _, s := range seeds {
		f.Add(s.route, s.method, s.param, s.query, s.body, s.ctype, s.flags)
	}
	wrong := []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions, "PROPFIND"}
	f.Fuzz(func(t *testing.T, route string, method uint8, param, query, body string, ctype, flags uint8) {
		c := fe.session(t)
		i := slices.Index(routes, route)
		if i < 0 {
			h := fnv.New32a()
			h.Write([]byte(route))
			i = int(h.Sum32() % uint32(len(routes)))
		}
		verb, path, _ := strings.Cut(routes[i], " ")
		if method%8 == 7 {
			verb = wrong[int(method/8)%len(wrong)]
		}
		if param == "" {
			param = "store-1"
		}
		path = strings.NewReplacer(":name", requestURI(param), ":id", requestURI(param), "*", requestURI(param)).Replace(path)
		req, err := http.NewRequest(verb, fe.ts.URL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = path // sent as it is, bad escapes and all
		req.URL.RawQuery = requestURI(query)
		if ct := fuzzContentTypes[int(ctype)%len(fuzzContentTypes)]; ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		switch flags % 4 {
		case 0: // the token in the header, as htmx sends it
			req.Header.Set("X-CSRF-Token", c.csrf)
		case 1: // a forged token
			req.Header.Set("X-CSRF-Token", "forged-"+c.csrf)
		case 2: // none but what the body may hold
		case 3: // the token, and a JSON client
			req.Header.Set("X-CSRF-Token", c.csrf)
			req.Header.Set("Accept", "application/json")
		}
		if flags&4 != 0 {
			req.Header.Set("HX-Request", "true")
		}
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatalf("%s %s?%s: %v", verb, path, query, err)
		}
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s?%s (%q, %s): %d\n%s", verb, path, req.URL.RawQuery, body, req.Header.Get("Content-Type"), res.StatusCode, b)
		}
	})
}

// FuzzReportRange fuzzes the reports' from, to and month: a range is
// shown exactly when it parses, runs forwards and is not too long, and
// then exactly as given, one row per day; everything else is a 400.
func FuzzReportRange(f *testing.F) {
	fe := newFuzzEnv(f)
	for _, s := range [][3]string{{"2026-01-01", "2026-01-31", "2026-01"}, {"2026-01-31", "2026-01-01", "2026-13"}, {"", "2026-01-01", ""},
		{"2023-01-01", "2026-01-03", "0000-01"}, {"2023-01-01", "2026-01-04", "9999-12"}, {"2026-02-29", "2026-03-01", "2026-1"},
		{"%zz", "\xff", "2026-11-01"}, {"2026-01-01&to=2026-01-02", "x", "+2026-01"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, from, to, month string) {
		c := fe.session(t)
		get := func(path string, q url.Values) (int, []byte) {
			req, _ := http.NewRequest(http.MethodGet, fe.ts.URL+path+"?"+q.Encode(), nil)
			req.Header.Set("Accept", "application/json")
			res, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, b
		}
		q := url.Values{}
		if from != "" {
			q.Set("from", from)
		}
		if to != "" {
			q.Set("to", to)
		}
		status, b := get("/reports/daily-activity", q)
		f0, t0, perr := fleet.ParseRange(from, to)
		switch {
		case from == "" && to == "":
			if status != http.StatusOK {
				t.Fatalf("no range: %d", status)
			}
		case perr != nil:
			if status != http.StatusBadRequest {
				t.Fatalf("from %q to %q: %d, want 400 (%v)\n%s", from, to, status, perr, b)
			}
		default:
			var got struct {
				From, To string
				Days     []struct{ Date string }
			}
			if status != http.StatusOK || json.Unmarshal(b, &got) != nil {
				t.Fatalf("from %q to %q: %d\n%s", from, to, status, b)
			}
			n := len(fleet.Days(f0, t0))
			if got.From != from || got.To != to || len(got.Days) != n || got.Days[0].Date != from || got.Days[n-1].Date != to {
				t.Fatalf("from %q to %q: shown %s to %s, %d days", from, to, got.From, got.To, len(got.Days))
			}
		}
		q = url.Values{}
		if month != "" {
			q.Set("month", month)
		}
		status, b = get("/reports/top-stores", q)
		if _, err := fleet.ParseMonth(month); month != "" && err != nil {
			if status != http.StatusBadRequest {
				t.Fatalf("month %q: %d, want 400\n%s", month, status, b)
			}
		} else if status != http.StatusOK {
			t.Fatalf("month %q: %d\n%s", month, status, b)
		}
	})
}

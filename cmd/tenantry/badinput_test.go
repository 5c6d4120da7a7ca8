package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/web"
)

// liveServer is "tenantry serve" running as its own process.
type liveServer struct {
	addr   string // host:port
	stderr *bytes.Buffer
	mu     *sync.Mutex // guards stderr
	cmd    *exec.Cmd
}

// lockedWriter serialises the process's stderr into a buffer.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startLiveServer starts the built binary's serve on a free loopback port and
// stops it (SIGTERM, then waits) when the test ends.
func startLiveServer(t testing.TB, bin, data string, extra ...string) *liveServer {
	t.Helper()
	args := append([]string{"--data", data, "serve", "--addr", "127.0.0.1:0", "--collect-every", "0", "--rescan-every", "0"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	s := &liveServer{stderr: &bytes.Buffer{}, mu: &sync.Mutex{}, cmd: cmd}
	cmd.Stderr = lockedWriter{s.mu, s.stderr}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("serve did not start: %v\n%s", err, s.log())
	}
	go io.Copy(io.Discard, out)
	s.addr = strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(line, "tenantry: serving on ")), "http://")
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Error("serve did not stop within 30 s of SIGINT")
		}
	})
	return s
}

func (s *liveServer) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// session is a logged-in browser's cookies and CSRF token.
type session struct {
	cookies string // the Cookie header
	csrf    string
	client  *http.Client
}

// liveLogin logs in through the login form.
func liveLogin(t testing.TB, base, email, password string) *session {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	u, _ := url.Parse(base)
	csrf := func() string {
		for _, c := range jar.Cookies(u) {
			if c.Name == "tenantry_csrf" {
				return c.Value
			}
		}
		return ""
	}
	res, err = client.PostForm(base+"/login", url.Values{"email": {email}, "password": {password}, "csrf": {csrf()}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: %d", email, res.StatusCode)
	}
	var parts []string
	for _, c := range jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return &session{cookies: strings.Join(parts, "; "), csrf: pageCSRF(t, client, base), client: client}
}

// badReq is one malformed request, as raw bytes on a fresh connection.
type badReq struct {
	raw  []byte
	head bool  // the answer to a HEAD has no body
	want []int // statuses that are right; nil: anything below 500
	// closeOK: the server may answer by closing the connection (raw
	// protocol garbage it cannot even read a request from).
	closeOK bool
}

// rawHTTP writes a request exactly as given: target, headers and body go
// on the wire unescaped.
func rawHTTP(method, target string, headers []string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	hasHost, hasLen := false, false
	for _, h := range headers {
		l := strings.ToLower(h)
		hasHost = hasHost || strings.HasPrefix(l, "host:")
		hasLen = hasLen || strings.HasPrefix(l, "content-length:") || strings.HasPrefix(l, "transfer-encoding:")
	}
	if !hasHost {
		b.WriteString("Host: 127.0.0.1\r\n")
	}
	b.WriteString("Connection: close\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != nil && !hasLen {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// send sends one raw request and returns the status, 0 if the server
// closed the connection without an answer.
func send(addr string, r badReq) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	// The server may answer (413, 431) before it read everything; the
	// write of the rest then fails, and the answer is what counts.
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(r.raw)
		if r.closeOK {
			// Garbage may be a request cut short: the server learns
			// there is no more instead of waiting out its read timeout.
			_ = conn.(*net.TCPConn).CloseWrite()
		}
		werr <- err
	}()
	br := bufio.NewReader(conn)
	method := http.MethodGet
	if r.head {
		method = http.MethodHead
	}
	res, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		<-werr
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	conn.Close()
	<-werr
	return res.StatusCode, nil
}

// badValues are query and form values no handler should choke on.
var badValues = []string{
	"", "%", "%zz", "%2", "%00", "%ff%fe", "%c0%ae%c0%ae", "%E2%80%AE", "%0d%0aSet-Cookie:x=1", "-1", "0", "99999999999999999999",
	"1e309", "NaN", "-0", "0x1f", "2026-13-45", "2026-02-30", "0000-00-00", "2026-1-1", "9999-12-31", "2026-11", "%3Cscript%3Ealert(1)%3C/script%3E",
	"%27%20OR%201=1--", "..%2F..%2Fcentral.db", "null", "[]", "%7B%7D", "true", "%20", "*", "%5B", "a&a&a&a", strings.Repeat("x", 9000),
	strings.Repeat("%ff", 3000),
}

// queryParams are every parameter name the handlers read.
var queryParams = []string{"from", "to", "month", "sort", "desc", "page", "per", "q", "status", "sql", "tenant", "tenants", "pattern",
	"list", "scope", "run", "format", "name", "next", "after", "before", "actor", "action", "outcome", "mode", "canary", "parallel",
	"on_error", "compact", "failed_after", "confirm", "at", "p_id", "user", "role", "email", "date", "id"}

// TestBadInputLive sends over ten thousand malformed requests to the real
// binary's server, as an anonymous client and as a logged-in admin: wrong
// methods on every route, bad values for every parameter, bad bodies and
// content types on every form, forged CSRF tokens, bogus cookies, path
// tricks, bad escapes and invalid UTF-8, oversized headers and bodies, and
// raw protocol garbage. No answer is a 5xx, the server logs no panic and
// no internal error, still answers its health check and the admin's
// session, no tenant was created or deleted, and no tenant database
// changed.
func TestBadInputLive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	binRun(t, bin, data, "demo", "--stores", "3", "--days", "7", "--seed", "4")
	var ts []tenantJSON
	if err := json.Unmarshal([]byte(binRun(t, bin, data, "tenants", "list", "--json")), &ts); err != nil || len(ts) != 3 {
		t.Fatalf("demo fleet: %v %v", ts, err)
	}
	before, filesBefore := tenantStates(t, data), tenantFiles(t, data)

	srv := startLiveServer(t, bin, data)
	admin := liveLogin(t, "http://"+srv.addr, DemoEmail, "crash-test-password")
	in := newBadInputs(t, ts[0].Name, admin)
	kinds := []struct {
		name string
		reqs []badReq
	}{
		{"wrong methods", in.wrongMethods()},
		{"bad query values", in.badQueryValues()},
		{"bad SQL console input", in.badSQL()},
		{"bad bodies and content types", in.badBodies()},
		{"missing or forged CSRF tokens", in.forgedCSRF()},
		{"bogus cookies", in.bogusCookies()},
		{"path tricks and bad encodings", in.pathTricks()},
		{"odd and oversized headers", in.oddHeaders()},
		{"bodies over the limit", in.oversizedBodies()},
		{"raw protocol garbage", in.protocolGarbage()},
	}
	n := 0
	for _, k := range kinds {
		n += len(k.reqs)
	}
	if n < 10000 {
		t.Fatalf("only %d bad requests", n)
	}
	start := time.Now()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) { sendBad(t, srv.addr, k.reqs) })
	}
	t.Logf("%d bad requests in %s", n, time.Since(start).Round(time.Millisecond))

	t.Run("the server still serves and logged no panic or internal error", func(t *testing.T) {
		if st, err := send(srv.addr, badReq{raw: rawHTTP("GET", "/healthz", nil, nil)}); err != nil || st != http.StatusOK {
			t.Errorf("/healthz after the run: %d %v", st, err)
		}
		if st, err := send(srv.addr, badReq{raw: rawHTTP("GET", "/tenants", in.adm.headers, nil)}); err != nil || st != http.StatusOK {
			t.Errorf("the admin's session after the run: %d %v", st, err)
		}
		if srv.cmd.ProcessState != nil {
			t.Fatalf("the server exited: %v", srv.cmd.ProcessState)
		}
		for _, line := range strings.Split(srv.log(), "\n") {
			if strings.Contains(line, "panic") || strings.Contains(line, "level=ERROR") {
				t.Errorf("server log: %s", fleet.Truncate(line, 500))
			}
		}
	})
	t.Run("no tenant was created, deleted or changed", func(t *testing.T) {
		if after := tenantStates(t, data); !slices.Equal(after, before) {
			t.Errorf("tenants before the run %v, after %v", before, after)
		}
		if after := tenantFiles(t, data); !slices.Equal(after, filesBefore) {
			t.Errorf("tenant files before the run %v, after %v", filesBefore, after)
		}
	})
}

// sendBad sends reqs over eight connections at a time and fails the test
// for each one not answered as it must be (the first 30), logging how
// they were answered.
func sendBad(t *testing.T, addr string, reqs []badReq) {
	var (
		mu       sync.Mutex
		counts   = map[int]int{} // by status, 0 for a closed connection
		spent    time.Duration
		failures []string
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) {
					return
				}
				r := reqs[i]
				t0 := time.Now()
				status, err := send(addr, r)
				d := time.Since(t0)
				var fail string
				switch {
				case err != nil && !r.closeOK:
					fail = fmt.Sprintf("no answer: %v", err)
				case r.want != nil && err == nil && !slices.Contains(r.want, status):
					fail = fmt.Sprintf("%d, want %v", status, r.want)
				case r.want == nil && status >= 500:
					fail = fmt.Sprintf("%d", status)
				}
				mu.Lock()
				counts[status]++
				spent += d
				if fail != "" && len(failures) < 30 {
					failures = append(failures, fmt.Sprintf("%s\n    %q", fail, truncateBytes(r.raw, 300)))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var parts []string
	for st, n := range counts {
		label := fmt.Sprint(st)
		if st == 0 {
			label = "closed"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", label, n))
	}
	sort.Strings(parts)
	t.Logf("%d requests, %s of answering in all: %s", len(reqs), spent.Round(time.Second), strings.Join(parts, " "))
	for _, f := range failures {
		t.Error(f)
	}
}

// who is a client sending bad requests: the headers that make it one.
type who struct {
	name    string
	headers []string
}

// badInputs makes TestBadInputLive's malformed requests, kind by kind, on
// every route of the console, as an anonymous client and as the admin.
type badInputs struct {
	routes    []string // "METHOD /path", GETs and POSTs
	tenant    string   // a real tenant
	admin     *session
	anon, adm who
	// Path parameters: the real tenant only on GETs (which change
	// nothing); POSTs get names and ids that match nothing, so that no bad
	// input can be a valid request on a real object by accident.
	getPath, postPath *strings.Replacer
}

func newBadInputs(t *testing.T, tenant string, admin *session) *badInputs {
	t.Helper()
	var routes []string
	for _, r := range web.New(web.Options{}).Routes() {
		if r.Method == http.MethodGet || r.Method == http.MethodPost {
			routes = append(routes, r.Method+" "+r.Path)
		}
	}
	slices.Sort(routes)
	routes = slices.Compact(routes)
	if len(routes) < 30 {
		t.Fatalf("only %d routes", len(routes))
	}
	return &badInputs{
		routes:   routes,
		tenant:   tenant,
		admin:    admin,
		anon:     who{"anonymous", nil},
		adm:      who{"admin", []string{"Cookie: " + admin.cookies, "X-CSRF-Token: " + admin.csrf}},
		getPath:  strings.NewReplacer(":name", tenant, ":id", "1", "*", "app.css"),
		postPath: strings.NewReplacer(":name", "no-such-store", ":id", "987654", "*", "x"),
	}
}

// wrongMethods: wrong methods on every route, and each route's own
// method swapped.
func (in *badInputs) wrongMethods() []badReq {
	var reqs []badReq
	wrong := []string{"PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "HEAD", "PROPFIND", "get", "G\x01T", "CONNECT"}
	for _, rt := range in.routes {
		verb, path, _ := strings.Cut(rt, " ")
		p := in.postPath.Replace(path)
		other := http.MethodPost
		if verb == http.MethodPost {
			other = http.MethodGet
		}
		for _, w := range []who{in.anon, in.adm} {
			for _, m := range append(wrong, other) {
				target := p
				if m == "CONNECT" {
					target = "127.0.0.1:1"
				}
				reqs = append(reqs, badReq{raw: rawHTTP(m, target, w.headers, []byte("x=1")), head: m == "HEAD"})
			}
		}
	}
	return reqs
}

// badQueryValues: bad values for every parameter on every GET route.
func (in *badInputs) badQueryValues() []badReq {
	var reqs []badReq
	k := 0
	for _, rt := range in.routes {
		verb, path, _ := strings.Cut(rt, " ")
		if verb != http.MethodGet {
			continue
		}
		p := in.getPath.Replace(path)
		for _, param := range queryParams {
			for range 6 {
				v := badValues[k%len(badValues)]
				w := []who{in.adm, in.anon}[k%5/4] // four admin requests in five
				k++
				reqs = append(reqs, badReq{raw: rawHTTP("GET", p+"?"+param+"="+v, w.headers, nil)})
			}
		}
	}
	return reqs
}

// badSQL: the SQL console runs what it is given: bad SQL, bad scopes,
// bad parameters, on one tenant and the whole fleet.
func (in *badInputs) badSQL() []badReq {
	var reqs []badReq
	for i, v := range badValues {
		for _, p := range []string{"/sql", "/sql.csv", "/sql.json"} {
			for _, q := range []string{
				"run=1&tenant=" + in.tenant + "&sql=" + v,
				"run=1&scope=all&sql=SELECT+:x&p_x=" + v,
				"run=1&scope=pattern&pattern=" + v + "&sql=SELECT+1",
				"run=1&scope=list&list=" + v + "&sql=SELECT+count(*)+FROM+orders",
				"run=1&scope=" + v + "&tenant=" + v + "&sql=SELECT+1",
			} {
				reqs = append(reqs, badReq{raw: rawHTTP("GET", p+"?"+q, in.adm.headers, nil)})
			}
		}
		if i == 0 { // one that never ends: the time limit stops it
			reqs = append(reqs, badReq{raw: rawHTTP("GET", "/sql?run=1&tenant="+in.tenant+"&sql=WITH+RECURSIVE+c(x)+AS+(SELECT+1+UNION+ALL+SELECT+x%2B1+FROM+c)+SELECT+count(*)+FROM+c", in.adm.headers, nil)})
		}
	}
	return reqs
}

// badBodies: bad bodies and content types on every form.
func (in *badInputs) badBodies() []badReq {
	var reqs []badReq
	bodies := []string{"", "%", "%zz=1", "a=%ff%fe", "\xff\xfe\xfd", "name=", "name=" + strings.Repeat("n", 1<<20), "=&=&&&", "name=%00",
		"name=Bad+Name&confirm=%ff", "{", `{"name":`, "[1,2", "null", `{"name": {"$gt": ""}, "sql": 5}`, "name[]=a&name[]=b",
		strings.Repeat("a=1&", 50000), "--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n../x", "\x00\x00\x00", "<xml/>",
		"sql=DROP+TABLE&tenant=../central", "from=2026-13-01&to=2025-01-01&mode=%ff&canary=-1&parallel=1e9&role=root&email=%40"}
	ctypes := []string{"application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "multipart/form-data", "application/json",
		"text/plain", "application/xml", "", "application/x-www-form-urlencoded; charset=utf-7", "multipart/form-data; boundary=" + strings.Repeat("-", 200), "%%%"}
	for _, rt := range in.routes {
		verb, path, _ := strings.Cut(rt, " ")
		if verb != http.MethodPost || path == "/logout" {
			continue // the admin's session must last the run
		}
		p := in.postPath.Replace(path)
		for i, body := range bodies {
			for j, ct := range ctypes {
				h := slices.Clone(in.adm.headers)
				if ct != "" {
					h = append(h, "Content-Type: "+ct)
				}
				reqs = append(reqs, badReq{raw: rawHTTP("POST", p, h, []byte(body))})
				if (i+j)%7 == 0 {
					reqs = append(reqs, badReq{raw: rawHTTP("POST", p, append(in.anon.headers, "Content-Type: "+ct), []byte(body))})
				}
			}
		}
	}
	return reqs
}

// forgedCSRF: missing and forged CSRF tokens, refused with 403 every
// time. (Logging in may be throttled first, after the bad logins of the
// run.)
func (in *badInputs) forgedCSRF() []badReq {
	var reqs []badReq
	forbidden := []int{http.StatusForbidden, http.StatusTooManyRequests}
	for _, rt := range in.routes {
		verb, path, _ := strings.Cut(rt, " ")
		if verb != http.MethodPost {
			continue
		}
		p := in.postPath.Replace(path)
		ck := "Cookie: " + in.admin.cookies
		form := "Content-Type: application/x-www-form-urlencoded"
		for _, h := range [][]string{
			{ck, form},
			{ck, form, "X-CSRF-Token: forged"},
			{ck, form, "X-CSRF-Token: " + strings.Repeat("A", len(in.admin.csrf))},
			{ck, form, "X-CSRF-Token: " + in.admin.csrf[:len(in.admin.csrf)-1]},
			{ck, form, "X-CSRF-Token: " + in.admin.csrf + "x"},
			{ck, form, "X-CSRF-Token: %00"},
		} {
			reqs = append(reqs, badReq{raw: rawHTTP("POST", p, h, []byte("csrf=also-forged")), want: forbidden})
		}
		// An attacker's own double-submit token (planted as the cookie,
		// repeated in the form) with the admin's session: the session's
		// token is bound to it. And the real token as the header with no
		// cookie at all.
		reqs = append(reqs, badReq{raw: rawHTTP("POST", p, []string{"Cookie: tenantry_csrf=" + strings.Repeat("b", 43) + "; " +
			sessionOnly(in.admin.cookies), form}, []byte("csrf="+strings.Repeat("b", 43))), want: forbidden})
		reqs = append(reqs, badReq{raw: rawHTTP("POST", p, []string{"X-CSRF-Token: " + in.admin.csrf, form}, []byte("a=1")), want: forbidden})
	}
	return reqs
}

// bogusCookies: bogus cookies, alone and beside the admin's session.
func (in *badInputs) bogusCookies() []badReq {
	var reqs []badReq
	cookieValues := []string{"", "x", strings.Repeat("A", 4000), "%zz", "\xff\xfe", "a;b", `"quoted"`, "=====", "null",
		"eyJhbGciOiJub25lIn0.eyJ1c2VyIjoxfQ.", strings.Repeat("0", 43), "../../central.db", "\x00"}
	for _, name := range []string{"tenantry_session", "tenantry_csrf", "tenantry_flash"} {
		for _, v := range cookieValues {
			for _, p := range []string{"/", "/tenants", "/login", "/reports/top-stores?month=2026-11"} {
				reqs = append(reqs, badReq{raw: rawHTTP("GET", p, []string{"Cookie: " + name + "=" + v}, nil)})
				reqs = append(reqs, badReq{raw: rawHTTP("GET", p, []string{"Cookie: " + sessionOnly(in.admin.cookies) + "; " + name + "=" + v}, nil)})
			}
			reqs = append(reqs, badReq{raw: rawHTTP("POST", "/tenants", []string{"Cookie: " + name + "=" + v, "X-CSRF-Token: " + v,
				"Content-Type: application/x-www-form-urlencoded"}, []byte("name=cookie-store"))})
		}
	}
	reqs = append(reqs, badReq{raw: rawHTTP("GET", "/", []string{"Cookie: " + strings.Repeat("tenantry_session=x; ", 2000)}, nil)})
	return reqs
}

// pathTricks: path tricks, bad escapes, invalid UTF-8.
func (in *badInputs) pathTricks() []badReq {
	var reqs []badReq
	long := strings.Repeat("a", 70000)
	paths := []string{"/%", "/%zz", "/%2", "/tenants/%zz", "/tenants/%ff%fe", "/tenants/\xff\xfe", "/tenants/%00", "/tenants/" + in.tenant + "%00.db",
		"/../../etc/passwd", "/static/../../central.db", "/static/..%2f..%2fcentral.db", "/static/%2e%2e/%2e%2e/central.db", "//tenants", "///",
		"/tenants//", "/tenants/./" + in.tenant, "/./", "/tenants/..", "/tenants/%2e%2e", "/tenants/%2e%2e%2fcentral", "/tenants/" + strings.Repeat("n", 8000),
		"/" + long, "/static/" + long, "/%c0%ae%c0%ae/", "/tenants/%E2%80%AE", "/sql/runs/-1", "/sql/runs/99999999999999999999999", "/jobs/0x10",
		"/jobs/1e3", "/jobs/%20", "/collections/NaN", "/reports/top-stores.csv/", "/reports/.csv", "/healthz/../tenants", "/login/..",
		"/tenants;jsessionid=x", "/tenants?%", "/tenants?&&&=&", "*", "http://evil.example/tenants", "tenants", "/tenants/%5c..%5ccentral",
		"/static/%2fetc%2fpasswd", "/static/app.css%00.js", "/static/\\..\\central.db", "/static/", "/static/.", "/static//etc/passwd",
		"/tenants/" + in.tenant + "/export/..%2f..%2f..%2fcentral.db", "/tenants/" + in.tenant + "/../../users", "/%u002e%u002e/", "/tenants/%252e%252e",
		"/reports/daily-activity?from=%C0%AF", "/sql?sql=%FF%FE%00", "/users/-1", "/users/%00", "/metrics/..", "/readyz?%zz"}
	for _, p := range paths {
		for _, w := range []who{in.anon, in.adm} {
			reqs = append(reqs, badReq{raw: rawHTTP("GET", p, w.headers, nil)})
			reqs = append(reqs, badReq{raw: rawHTTP("POST", p, append(slices.Clone(w.headers), "Content-Type: application/x-www-form-urlencoded"), []byte("name=%ff"))})
		}
	}
	return reqs
}

// oddHeaders: odd and oversized headers.
func (in *badInputs) oddHeaders() []badReq {
	var reqs []badReq
	for _, w := range []who{in.anon, in.adm} {
		for _, h := range [][]string{
			{"X-Big: " + strings.Repeat("h", 2<<20)},
			{"Cookie: " + strings.Repeat("c", 2<<20)},
			manyHeaders(20000),
			{"Accept: application/json", "HX-Request: true", "HX-Target: \xff"},
			{"Accept: " + strings.Repeat("application/json, ", 5000)},
			{"Accept-Encoding: gzip;q=NaN, br;q=-1, *;q=2"},
			{"Accept-Encoding: " + strings.Repeat("gzip, ", 10000)},
			{"If-Modified-Since: yesterday", "If-None-Match: \xff"},
			{"Range: bytes=999999999-", "If-Range: x"},
			{"Range: bytes=-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1"},
			{"X-Forwarded-For: \xff, ::::, 999.1.1.1", "X-Real-IP: %00", "Forwarded: for=\"[::1\""},
			{"X-Request-ID: " + strings.Repeat("r", 100000)},
			{"Content-Type: multipart/form-data; boundary=\xff"},
			{"Host: "}, {"Host: evil.example:99999"}, {"Host: \xff\xfe"},
			{"Authorization: Basic %%%"},
			{"Expect: 100-continue"},
		} {
			for _, p := range []string{"/", "/tenants", "/static/app.css", "/reports/daily-activity.csv", "/healthz"} {
				reqs = append(reqs, badReq{raw: rawHTTP("GET", p, append(slices.Clone(w.headers), h...), nil)})
			}
		}
	}
	return reqs
}

// oversizedBodies: bodies over the 64 MB limit, announced, and streamed
// without a length.
func (in *badInputs) oversizedBodies() []badReq {
	var reqs []badReq
	for _, rt := range in.routes {
		verb, path, _ := strings.Cut(rt, " ")
		if verb != http.MethodPost || path == "/logout" {
			continue
		}
		reqs = append(reqs, badReq{raw: append(rawHTTP("POST", in.postPath.Replace(path),
			append(slices.Clone(in.adm.headers), "Content-Type: application/x-www-form-urlencoded", "Content-Length: 104857600"), nil),
			bytes.Repeat([]byte("a"), 1<<20)...), want: []int{http.StatusRequestEntityTooLarge}})
	}
	huge := chunked(bytes.Repeat([]byte("name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&"), 70<<20/64))
	for _, h := range [][]string{in.adm.headers, append(slices.Clone(in.adm.headers[:1]), "X-Unused: 1")} {
		reqs = append(reqs, badReq{raw: append(rawHTTP("POST", "/tenants", append(slices.Clone(h),
			"Content-Type: application/x-www-form-urlencoded", "Transfer-Encoding: chunked"), nil), huge...)})
	}
	return reqs
}

// protocolGarbage: raw protocol garbage.
func (in *badInputs) protocolGarbage() []badReq {
	var reqs []badReq
	for _, raw := range []string{
		"GARBAGE\r\n\r\n",
		"GET\r\n\r\n",
		"GET /\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\n\n",
		"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n  folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
		"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n0\r\n\r\n",
		"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nxx\r\n",
		"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\n\r\n\x00\x01\x02",
		"GET / HTTP/1.2\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1.1\r\nHost: x\r\n\r\n",
		"GET / FTP/1.1\r\nHost: x\r\n\r\n",
		"GET  /  HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + strings.Repeat("\x00", 40),
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\n\r\n",
		"GET " + strings.Repeat("/a", 600000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
		"\r\n\r\n\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x",
		"G",
		"",
	} {
		reqs = append(reqs, badReq{raw: []byte(raw), closeOK: true})
	}
	// Requests net/http itself answers with a protocol status, as RFC 9110
	// says: 505 for a major version it does not speak, 501 for a transfer
	// coding it does not implement. They never reach the console's code.
	for _, pr := range []struct {
		raw  string
		code int
	}{
		{"GET / HTTP/0.9\r\n\r\n", http.StatusHTTPVersionNotSupported},
		{"GET / HTTP/2.0\r\nHost: x\r\n\r\n", http.StatusHTTPVersionNotSupported},
		{"GET / HTTP/3.0\r\nHost: x\r\n\r\n", http.StatusHTTPVersionNotSupported},
		{"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nxx", http.StatusNotImplemented},
		{"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\nxx", http.StatusNotImplemented},
		{"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", http.StatusNotImplemented},
	} {
		reqs = append(reqs, badReq{raw: []byte(pr.raw), want: []int{pr.code, http.StatusBadRequest}, closeOK: true})
	}
	return reqs
}

// tenantFiles lists the tenant databases with their contents' hashes.
func tenantFiles(t *testing.T, data string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(data, "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(data, "tenants", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %x", e.Name(), sha256.Sum256(b)))
	}
	return out
}

// tenantStates lists the registry's tenants and their states.
func tenantStates(t *testing.T, data string) []string {
	t.Helper()
	db := openCentralDir(t, data)
	defer db.Close()
	return tableRows(t, db, `SELECT name, status FROM tenants ORDER BY name`)
}

// sessionOnly keeps only the session cookie of a Cookie header.
func sessionOnly(cookies string) string {
	for _, c := range strings.Split(cookies, "; ") {
		if strings.HasPrefix(c, "tenantry_session=") {
			return c
		}
	}
	return ""
}

func manyHeaders(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("X-H%d: %d", i, i)
	}
	return out
}

// chunked encodes b as one chunked body of 1 MB chunks.
func chunked(b []byte) []byte {
	var out bytes.Buffer
	for len(b) > 0 {
		n := min(len(b), 1<<20)
		fmt.Fprintf(&out, "%x\r\n", n)
		out.Write(b[:n])
		out.WriteString("\r\n")
		b = b[n:]
	}
	out.WriteString("0\r\n\r\n")
	return out.Bytes()
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedLog collects a process's stderr while the test reads it.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveProc is "tenantry serve" run from the built binary, as in
// production: signals reach it as they would from a process manager.
type serveProc struct {
	cmd    *exec.Cmd
	URL    string
	stderr *lockedLog
	exited chan struct{}
	err    error
}

// startServe starts the binary's serve on a free loopback port and waits
// until it listens. The test's end kills it if it still runs.
func startServe(t *testing.T, bin, data string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{stderr: &lockedLog{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"--data", data, "serve", "--addr", "127.0.0.1:0"}, args...)...)
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	select {
	case line := <-lines:
		u, ok := strings.CutPrefix(strings.TrimSpace(line), "tenantry: serving on ")
		if !ok {
			t.Fatalf("serve did not start: %q\n%s", line, p.stderr)
		}
		p.URL = u
	case <-time.After(time.Minute):
		t.Fatalf("serve did not start within a minute\n%s", p.stderr)
	}
	return p
}

// opsURL waits for serve to log the address of --ops-addr (JSON logs).
func (p *serveProc) opsURL(t *testing.T) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && strings.HasPrefix(fmt.Sprint(m["msg"]), "serving /healthz") {
				return "http://" + fmt.Sprint(m["addr"])
			}
		}
	}
	t.Fatalf("serve did not log its ops address\n%s", p.stderr)
	return ""
}

// terminate sends SIGTERM and returns the exit status and how long the
// process took to exit.
func (p *serveProc) terminate(t *testing.T) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve did not exit within 2 minutes of SIGTERM\n%s", p.stderr)
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(start)
}

// webSession is a browser-like client logged in to a console.
type webSession struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string // the session's token, from its pages
}

func loginAs(t *testing.T, base, email, password string) *webSession {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &webSession{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	res, err := s.http.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res := s.post("/login", url.Values{"email": {email}, "password": {password}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("log in as %s: %d", email, res.StatusCode)
	}
	s.csrf = pageCSRF(t, s.http, base)
	return s
}

func mustParseURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// post sends a form with the CSRF token: the session's, or before login
// the one the console's cookie holds (its forms repeat it).
func (s *webSession) post(path string, form url.Values) *http.Response {
	s.t.Helper()
	form.Set("csrf", s.csrf)
	for _, ck := range s.http.Jar.Cookies(mustParseURL(s.t, s.base)) {
		if ck.Name == "tenantry_csrf" && s.csrf == "" {
			form.Set("csrf", ck.Value)
		}
	}
	res, err := s.http.PostForm(s.base+path, form)
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestGracefulShutdown sends SIGTERM to a serving console while a slow
// SQL console request and a large collection run. The request completes
// with its answer, the process exits 0 without waiting for the
// collection, and the collection is left queued (not failed), resumed at
// once by the next start, and ends with exactly the metrics of an
// uninterrupted run of the same days.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a large collection")
	}
	t0 := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(t0).Seconds(), what) }
	bin := buildBinary(t)
	phase("built")
	data := t.TempDir()
	// A demo fleet of 13 stores, each copied 30 times: 403 tenants, one
	// full batch of 250 and a partial one. A collection of a year writes
	// a row per tenant and day, so with one reader it lasts seconds.
	binRun(t, bin, data, "demo", "--stores", "13", "--days", "30", "--seed", "3")
	stores := multiplyFleet(t, data, 30)
	first := stores[len(stores)-1]
	// Files written seconds ago may still be changing, so a collection
	// never skips them; these stand for a fleet at rest.
	entries, err := os.ReadDir(filepath.Join(data, "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(filepath.Join(data, "tenants", e.Name()), old, old); err != nil {
			t.Fatal(err)
		}
	}
	binRun(t, bin, data, "tenants", "list") // adopts the copies
	control := t.TempDir()
	copyDir(t, data, control)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	from, to := today.AddDate(0, 0, -364).Format("2006-01-02"), today.Format("2006-01-02")

	phase("fleet ready")
	srv := startServe(t, bin, data, "--collect-every", "0", "--collect-workers", "1", "--sql-timeout", "2m",
		"--log-format", "json", "--log-level", "debug", "--ops-addr", "127.0.0.1:0")
	ops := srv.opsURL(t)
	web := loginAs(t, srv.URL, DemoEmail, "crash-test-password")
	cdb := openCentralDir(t, data)
	defer cdb.Close()
	var jobID int64 // the collection's
	var logs string // serve's, up to its exit after SIGTERM
	// results counts the tenants the collection has committed.
	results := func(t *testing.T) (n int) {
		t.Helper()
		if err := cdb.QueryRow(`SELECT count(*) FROM collection_results WHERE run_id = (SELECT id FROM collection_runs WHERE job_id = ?)`, jobID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if res := web.post("/collections", url.Values{"from": {from}, "to": {to}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("collect now: %d", res.StatusCode)
	}
	stage(t, "a year's collection runs and commits its first batch", func(t *testing.T) {
		deadline := time.Now().Add(time.Minute)
		for {
			var state string
			err := cdb.QueryRow(`SELECT id, state FROM jobs WHERE kind = 'metrics.collect' ORDER BY id DESC LIMIT 1`).Scan(&jobID, &state)
			if err == nil && state == "running" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the collection did not start: job %d %q %v", jobID, state, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The scraper's view, on the ops address without login: the queue
		// holds the running collection.
		res, err := http.Get(ops + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), `tenantry_jobs{kind="metrics.collect",state="running"} 1`) {
			t.Errorf("ops /metrics while collecting:\n%s", b)
		}
		for results(t) < 250 {
			if time.Now().After(deadline) {
				t.Fatalf("the collection's first batch was not written within a minute\n%s", srv.stderr)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})

	stage(t, "SIGTERM lets the slow request finish and exits 0, without waiting for the collection", func(t *testing.T) {
		// The slow request: a query that counts to three million, seconds of
		// work in the SQL console.
		type answer struct {
			status int
			body   string
			at     time.Time
			err    error
		}
		answered := make(chan answer, 1)
		go func() {
			q := url.Values{"scope": {"tenant"}, "tenant": {first}, "run": {"1"},
				"sql": {`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) AS counted FROM n`}}
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/sql?"+q.Encode(), nil)
			req.Header.Set("Accept", "application/json")
			res, err := web.http.Do(req)
			if err != nil {
				answered <- answer{err: err, at: time.Now()}
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			answered <- answer{status: res.StatusCode, body: string(b), at: time.Now()}
		}()
		time.Sleep(200 * time.Millisecond)

		sigAt := time.Now()
		code, took := srv.terminate(t)
		a := <-answered
		logs = srv.stderr.String()
		if a.err != nil || a.status != http.StatusOK || !strings.Contains(a.body, "3000000") {
			t.Fatalf("the request in flight at SIGTERM: %v %d %s\n%s", a.err, a.status, a.body, logs)
		}
		if !a.at.After(sigAt) {
			t.Fatalf("the slow request was answered %v before SIGTERM: it was not in flight", sigAt.Sub(a.at))
		}
		if code != 0 {
			t.Fatalf("serve exited %d after SIGTERM\n%s", code, logs)
		}
		if _, err := http.Get(ops + "/healthz"); err == nil {
			t.Error("the ops address still answers after the shutdown")
		}
		// Prompt: the request's remaining time, not the collection's.
		if took > a.at.Sub(sigAt)+10*time.Second {
			t.Errorf("serve took %v to exit, the request only %v", took, a.at.Sub(sigAt))
		}
		t.Logf("SIGTERM: in-flight request answered after %v more, process exited 0 after %v", a.at.Sub(sigAt).Round(time.Millisecond), took.Round(time.Millisecond))
	})

	stage(t, "the interrupted collection is queued to resume, its run still open", func(t *testing.T) {
		var state, step string
		var attempts, done, total int64
		if err := cdb.QueryRow(`SELECT state, step, attempts, done, total FROM jobs WHERE id = ?`, jobID).Scan(&state, &step, &attempts, &done, &total); err != nil {
			t.Fatal(err)
		}
		var runState string
		if err := cdb.QueryRow(`SELECT state FROM collection_runs WHERE job_id = ?`, jobID).Scan(&runState); err != nil {
			t.Fatal(err)
		}
		collected := results(t)
		t.Logf("after SIGTERM: job %s (%q, attempt %d, %d/%d done), run %s with %d of 403 tenants' results", state, step, attempts, done, total, runState, collected)
		if state != "queued" || runState != "running" || attempts != 1 {
			t.Fatalf("the interrupted collection: job %s, attempts %d, run %s; want it queued to resume, its run open\n%s", state, attempts, runState, logs)
		}
		if collected >= 403 {
			t.Fatalf("the collection had finished reading every tenant at SIGTERM; the test proves too little")
		}
	})

	// The logs: one JSON object per line; the shutdown, the interrupted
	// job with its id and kind, and the slow request's own line.
	stage(t, "the logs are JSON lines that tell of the shutdown, the job and the request", func(t *testing.T) {
		var sawShutdown, sawJob, sawRequest bool
		for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line is not JSON: %q", line)
			}
			switch {
			case strings.HasPrefix(fmt.Sprint(m["msg"]), "shutting down"):
				sawShutdown = true
			case m["msg"] == "job interrupted; it resumes on the next start":
				// Other jobs (the snapshot run serve starts) may be
				// interrupted too.
				sawJob = sawJob || m["job"] == float64(jobID) && m["kind"] == "metrics.collect"
			case m["msg"] == "request" && m["route"] == "/sql":
				sawRequest = m["status"] == 200.0 && m["request_id"] != ""
			}
		}
		if !sawShutdown || !sawJob || !sawRequest {
			t.Errorf("logs: shutdown %v, interrupted job %v, slow request %v\n%s", sawShutdown, sawJob, sawRequest, logs)
		}
	})

	phase("stopped")
	stage(t, "the next start resumes the collection at once and finishes it", func(t *testing.T) {
		var state, runState string
		restarted := startServe(t, bin, data, "--collect-every", "0")
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if err := cdb.QueryRow(`SELECT state FROM jobs WHERE id = ?`, jobID).Scan(&state); err != nil {
				t.Fatal(err)
			}
			if state == "succeeded" || state == "failed" || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if code, _ := restarted.terminate(t); code != 0 || state != "succeeded" {
			t.Fatalf("after the restart: job %s, serve exited %d\n%s", state, code, restarted.stderr)
		}
		var tenants, ok, failed, skipped int64
		if err := cdb.QueryRow(`SELECT state, tenants, ok, failed, skipped FROM collection_runs WHERE job_id = ?`, jobID).
			Scan(&runState, &tenants, &ok, &failed, &skipped); err != nil {
			t.Fatal(err)
		}
		// The tenants the first attempt committed are not read again.
		if runState != "succeeded" || tenants != 403 || ok+skipped != tenants || failed != 0 || skipped < 250 {
			t.Fatalf("resumed run: %s, %d tenants, %d ok, %d failed, %d skipped", runState, tenants, ok, failed, skipped)
		}
	})

	phase("resumed")
	binRun(t, bin, control, "collect", "--from", from, "--to", to)
	phase("control collected")
	stage(t, "the metrics equal an uninterrupted collection's", func(t *testing.T) {
		ctl := openCentralDir(t, control)
		defer ctl.Close()
		// The metrics table's size and the rollups the collection writes with
		// it, row for row: each tenant's months and the fleet's days. (Reading
		// the 147,000 metrics rows themselves would take a minute under the
		// race detector; TestKillMidCollection compares them one by one.)
		for _, q := range []string{
			`SELECT count(*) FROM metrics`,
			`SELECT * FROM metrics_daily ORDER BY date`,
			`SELECT * FROM metrics_monthly ORDER BY month, database_name`,
		} {
			got, want := tableRows(t, cdb, q), tableRows(t, ctl, q)
			if n, _ := strconv.Atoi(want[0]); strings.HasSuffix(q, "FROM metrics") && n < 403*365 {
				t.Fatalf("the uninterrupted run wrote %s metrics rows, want a year of 403 tenants", want[0])
			}
			if len(got) != len(want) {
				t.Errorf("%s: %d rows after the shutdown, %d uninterrupted", q, len(got), len(want))
			}
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Errorf("%s: row %d is %s after the shutdown, %s uninterrupted", q, i, got[i], want[i])
					break
				}
			}
		}
	})
	phase("compared")
}

// TestServeOpsFlagsRefused: bad logging and shutdown settings are usage
// errors (exit 2, one line naming the flag) before anything is opened.
func TestServeOpsFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--log-format", "xml"}, `--log-format "xml" is not text or json`},
		{map[string]string{"TENANTRY_LOG_FORMAT": "yaml"}, nil, `--log-format "yaml"`},
		{nil, []string{"--log-level", "loud"}, `--log-level "loud" is not debug, info, warn or error`},
		{map[string]string{"TENANTRY_LOG_LEVEL": "verbose"}, nil, `--log-level "verbose"`},
		{nil, []string{"--shutdown-timeout", "0s"}, "--shutdown-timeout must be positive"},
		{nil, []string{"--collect-shard", "3/2"}, `--collect-shard: Shard "3/2" is not i/n`},
		{map[string]string{"TENANTRY_COLLECT_SHARD": "0/4"}, nil, `--collect-shard: Shard "0/4"`},
	} {
		c := newCLI(t)
		for k, v := range tc.env {
			c.env[k] = v
		}
		code, _, errs := c.run("", append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("serve %v %v: exit %d %q, want 2 and %q", tc.env, tc.args, code, errs, tc.want)
		}
		if _, err := os.Stat(filepath.Join(c.data, "central.db")); err == nil {
			t.Errorf("serve %v %v opened the central database before refusing", tc.env, tc.args)
		}
	}
	// Other commands read the same variables; a bad one is reported and
	// the default used, so a command still runs.
	c := newCLI(t)
	c.env["TENANTRY_LOG_LEVEL"] = "loud"
	if code, _, errs := c.run("", "tenants", "list"); code != 0 || !strings.Contains(errs, "TENANTRY_LOG_LEVEL") {
		t.Errorf("tenants list with a bad TENANTRY_LOG_LEVEL: exit %d %q", code, errs)
	}
}

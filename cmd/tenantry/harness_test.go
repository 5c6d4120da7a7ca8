package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
)

func init() { central.SetBcryptCost(4) } // tests log in often; bcrypt is slow on purpose

// cli runs one tenantry command against a data directory and returns its
// exit code, stdout and stderr, as a user at a shell would see them.
type cli struct {
	t    *testing.T
	data string
	env  map[string]string
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, data: t.TempDir(), env: map[string]string{}}
}

func (c *cli) getenv(k string) string { return c.env[k] }

func (c *cli) run(stdin string, args ...string) (int, string, string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := run(ctx, append([]string{"--data", c.data}, args...), c.getenv, strings.NewReader(stdin), &out, &errb)
	code := exitCode(err, &errb)
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed and returns its stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	code, out, errs := c.run("", args...)
	if code != 0 {
		c.t.Fatalf("tenantry %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// server is a running "tenantry serve".
type server struct {
	URL  string
	stop func()
}

// serve starts "tenantry serve" on a free loopback port and stops it when
// the test ends.
func (c *cli) serve(extra ...string) *server {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	var stop func()
	go func() {
		args := append([]string{"--data", c.data, "serve", "--addr", "127.0.0.1:0"}, extra...)
		err := run(ctx, args, c.getenv, strings.NewReader(""), pw, os.Stderr)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		c.t.Fatalf("serve did not start: %v (%v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimSpace(strings.TrimPrefix(line, "tenantry: serving on "))
	s := &server{URL: url}
	var once sync.Once
	s.stop = func() { once.Do(stop) }
	stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				c.t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			c.t.Error("serve did not stop within 30 s")
		}
	}
	c.t.Cleanup(s.stop)
	return s
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)"`)

// pageCSRF reads the CSRF token the console's pages hand a logged-in
// client (it is bound to the session, so the pre-login cookie is no use).
func pageCSRF(t testing.TB, client *http.Client, base string) string {
	t.Helper()
	res, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := csrfMeta.FindSubmatch(b)
	if m == nil {
		t.Fatalf("GET /: %d, no CSRF token in the page", res.StatusCode)
	}
	return string(m[1])
}

// stage runs one stage of a scenario test as a subtest, so that a failure
// names what broke. The stages share the scenario's setup and build on
// one another in order: a stage that stops (t.Fatal) ends the scenario,
// one that only reports errors lets the later stages go on.
func stage(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	finished := false
	t.Run(name, func(t *testing.T) {
		f(t)
		finished = true
	})
	if !finished {
		t.FailNow()
	}
}

// Package sqldtest runs a real sqld (libsql-server) for tests, on free
// loopback ports, stopped when the test ends. The binary comes from
// TENANTRY_SQLD (make test sets it) or the repository's .tools/.
package sqldtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Server is a running sqld.
type Server struct {
	URL      string // Hrana (user) API
	AdminURL string // admin API
	AdminKey string
	// Key signs tokens sqld accepts (it checks every request's token).
	Key ed25519.PrivateKey
	// KeyFile holds Key as PKCS #8 PEM, for TENANTRY_SQLD_JWT_KEY_FILE.
	KeyFile string
	Dir     string
	cmd     *exec.Cmd
	exited  chan error
	log     *lockedBuffer
}

// lockedBuffer collects sqld's output while tests may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Options change how sqld is started.
type Options struct {
	NoAuth   bool // no JWT key: every request is let in
	AdminKey string
}

// Binary returns the sqld binary, or skips the test when there is none
// (make test always provides it).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TENANTRY_SQLD"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", ".tools", "sqld", "sqld")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	t.Skip("no sqld: run `make tools` or set TENANTRY_SQLD (make test does both)")
	return ""
}

// Start runs a sqld with namespaces enabled and room for a large fleet of
// active namespaces (the default of 100 evicts namespaces under load and
// answers spurious 404s).
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	s := &Server{Dir: dir, AdminKey: o.AdminKey, log: &lockedBuffer{}}
	var args []string
	if !o.NoAuth {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s.Key = priv
		// sqld reads the public half as PKIX PEM; Tenantry reads the key
		// as PKCS #8 PEM, as openssl genpkey writes it.
		pub, err := x509.MarshalPKIXPublicKey(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		pubFile := filepath.Join(dir, "jwt.pub")
		writePEM(t, pubFile, "PUBLIC KEY", pub)
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		s.KeyFile = filepath.Join(dir, "jwt.pem")
		writePEM(t, s.KeyFile, "PRIVATE KEY", der)
		args = append(args, "--auth-jwt-key-file", pubFile)
	}
	if o.AdminKey != "" {
		args = append(args, "--admin-auth-key", o.AdminKey)
	}
	var lastErr error
	for range 5 { // a port taken between choosing and binding: choose again
		httpPort, adminPort := freePort(t), freePort(t)
		s.URL = "http://127.0.0.1:" + strconv.Itoa(httpPort)
		s.AdminURL = "http://127.0.0.1:" + strconv.Itoa(adminPort)
		s.cmd = exec.Command(bin, append([]string{
			"--db-path", filepath.Join(dir, "data"),
			"--http-listen-addr", "127.0.0.1:" + strconv.Itoa(httpPort),
			"--admin-listen-addr", "127.0.0.1:" + strconv.Itoa(adminPort),
			"--enable-namespaces", "--no-welcome", "--disable-metrics",
			"--max-active-namespaces", "5000",
		}, args...)...)
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("start sqld: %v", err)
		}
		if lastErr = s.wait(); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
		s.Stop()
	}
	t.Fatalf("sqld did not start: %v\n%s", lastErr, s.log)
	return nil
}

// wait waits until both APIs answer.
func (s *Server) wait() error {
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exited:
			s.cmd = nil
			return fmt.Errorf("sqld exited: %v", err)
		default:
		}
		resp, err := http.Get(s.AdminURL + "/")
		if err == nil {
			resp.Body.Close()
			if r2, err := http.Get(s.URL + "/health"); err == nil {
				r2.Body.Close()
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no answer within 30 s")
}

// Stop kills the server (by its PID) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
	s.cmd = nil
}

// Log is what sqld printed so far.
func (s *Server) Log() string {
	return s.log.String()
}

// Token signs claims with the server's key.
func (s *Server) Token(t testing.TB, claims map[string]any) string {
	t.Helper()
	tok, err := tenantdb.SignJWT(s.Key, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// writePEM writes der to path as one PEM block of the type given.
func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// CPUTime is the processor time sqld has used so far (user and system),
// read from /proc; zero where there is none.
func (s *Server) CPUTime() time.Duration {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // clock ticks (USER_HZ = 100)
}

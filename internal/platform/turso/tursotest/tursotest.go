// Package tursotest is a test double of the Turso Platform API: an
// httptest server that answers like the published spec
// (shared/turso/openapi.json) and shared/TURSO_API.md's quirks, error
// shapes included, with a real sqld as its data plane.
//
// Each database <db> of organization <org> is the sqld namespace
// "<db>-<org>" and has the Hostname "<db>-<org>.turso.io". A client that
// sends its Hrana requests to the sqld (libsql.WithProxy) while keeping
// that Host header reaches the namespace, because sqld takes the
// namespace from the Host's first label. Tokens the double mints are real
// EdDSA JWTs signed with the sqld's key, so sqld enforces them: read-only
// tokens really cannot write, and database tokens reach one namespace.
//
// Several doubles may share one sqld: each has its own organization slug
// (random unless chosen), which makes their namespaces distinct.
package tursotest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
)

// Options change how a double behaves.
type Options struct {
	// Org is the organization slug; default a random one of 7 lowercase
	// letters and digits, without '-', so that namespaces of doubles on
	// one sqld never collide.
	Org string
	// Token is the platform API token the double accepts; default random.
	Token string
	// Group is the organization's one group; default "default".
	Group string
	// ReadyDelay keeps a new database's data plane away for this long after
	// create answered: its namespace does not exist yet, so the data plane
	// really answers 404, the quirk TURSO_API.md describes.
	ReadyDelay time.Duration
	// DuplicateAs400 answers a duplicate name with the newer 400
	// "database with same name already exists" instead of the spec's 409.
	DuplicateAs400 bool
	// PageSize is the page size of a list without limit; default 50, so
	// that clients really page.
	PageSize int
	// MaxPageSize caps limit; default 100.
	MaxPageSize int
}

// Server is a running double.
type Server struct {
	URL   string // base URL, the client's APIURL
	Org   string
	Token string // the platform API token it accepts
	Group string

	t      testing.TB
	sq     *sqldtest.Server
	o      Options
	srv    *httptest.Server
	prefix string // "/v1/organizations/<org>"
	admin  *http.Client

	mu       sync.Mutex
	dbs      map[string]*database
	seq      int // for ids and hidden namespace names
	faults   []*Fault
	requests []Request
	minted   map[string]int // tokens minted per scope: "database/<db>", "group/<g>"
	closed   bool
	pending  sync.WaitGroup // delayed namespace creations in flight
}

// Request is one request the double received.
type Request struct {
	Method string
	Path   string // the URL path, as received
	Query  string // the raw query
	Status int
	// Authorized: the request carried the API token in its header.
	Authorized bool
}

// Fault makes matching requests fail: the next Times requests whose
// method and path match answer Status (with Retry-After when set) instead
// of their normal answer.
type Fault struct {
	Method string // "" matches any method
	// Path is matched against the path below /v1/organizations/<org>
	// (e.g. "/databases"): a prefix unless Exact.
	Path  string
	Exact bool
	// Status is the answer, e.g. 429 or 503.
	Status int
	// RetryAfter, when not "", is sent as the Retry-After header: seconds
	// or an HTTP date.
	RetryAfter string
	// Times is how many requests fail; default 1.
	Times int
	// After does the request's work first and then answers Status: a
	// failure the client cannot tell from one that did nothing (a gateway
	// timing out after the database was made).
	After bool
	// Message is the error text; default a generic one for Status.
	Message string
}

// New starts a double whose data plane is sq, stopped when the test ends.
// sq must check tokens (sqldtest.Options{} without NoAuth): the double
// signs them with sq.Key.
func New(t testing.TB, sq *sqldtest.Server, o Options) *Server {
	t.Helper()
	if sq.Key == nil {
		t.Fatal("tursotest: the sqld must check tokens (start it without NoAuth)")
	}
	if o.Org == "" {
		o.Org = "o" + randomHex(3)
	}
	if o.Token == "" {
		o.Token = "turso-api-" + randomHex(16)
	}
	if o.Group == "" {
		o.Group = "default"
	}
	if o.PageSize <= 0 {
		o.PageSize = 50
	}
	if o.MaxPageSize <= 0 {
		o.MaxPageSize = 100
	}
	s := &Server{
		Org: o.Org, Token: o.Token, Group: o.Group,
		t: t, sq: sq, o: o,
		prefix: "/v1/organizations/" + o.Org,
		admin:  &http.Client{Timeout: 30 * time.Second},
		dbs:    make(map[string]*database),
		minted: make(map[string]int),
	}
	s.srv = httptest.NewServer(s.handler())
	s.URL = s.srv.URL
	t.Cleanup(s.close)
	return s
}

func (s *Server) close() {
	s.srv.Close()
	s.mu.Lock()
	s.closed = true
	for _, d := range s.dbs {
		if d.timer != nil && d.timer.Stop() {
			s.pending.Done()
		}
	}
	s.mu.Unlock()
	s.pending.Wait()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Hostname is the data-plane host of database db.
func (s *Server) Hostname(db string) string { return db + "-" + s.Org + ".turso.io" }

// Namespace is the sqld namespace of database db.
func (s *Server) Namespace(db string) string { return db + "-" + s.Org }

// Fail installs a fault (see Fault).
func (s *Server) Fail(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count counts the requests of a method ("" for any) whose path below
// /v1/organizations/<org> starts with path.
func (s *Server) Count(method, path string) int {
	n := 0
	for _, r := range s.Requests() {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, s.prefix+path) {
			n++
		}
	}
	return n
}

// TokensMinted is how many tokens were minted, for all scopes.
func (s *Server) TokensMinted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.minted {
		n += c
	}
	return n
}

// TokensMintedFor is how many tokens were minted for a database
// ("database/<db>") or a group ("group/<group>").
func (s *Server) TokensMintedFor(scope string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minted[scope]
}

// AddSchemaDatabase adds a Multi-DB Schema parent database (is_schema
// true), which clients must not take for a tenant. It has no data plane.
func (s *Server) AddSchemaDatabase(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.newDatabase(name)
	d.isSchema = true
	d.ready = true
	s.dbs[name] = d
}

// Archive marks a database archived (an idle database on a free plan),
// which clients skip when collecting.
func (s *Server) Archive(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dbs[name]
	if d == nil {
		s.t.Fatalf("tursotest: Archive(%q): no such database", name)
	}
	d.archived = true
}

// SetDeleteProtection turns a database's delete protection on or off, as
// PATCH /configuration does.
func (s *Server) SetDeleteProtection(name string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dbs[name]
	if d == nil {
		s.t.Fatalf("tursotest: SetDeleteProtection(%q): no such database", name)
	}
	d.cfg.DeleteProtection = on
}

// Has reports whether the organization has a database of that name.
func (s *Server) Has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dbs[name] != nil
}

// Ready reports whether a database's data plane exists (its ReadyDelay,
// if any, has passed).
func (s *Server) Ready(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dbs[name]
	return d != nil && d.ready
}

// Snapshot records database db as of now, for point-in-time seeds.
//
// sqld cannot rewind a namespace without bottomless backups, so the
// double keeps history by hand: Snapshot forks the database's namespace
// into a hidden namespace stamped with the current time. A create whose
// seed has a timestamp T forks from the newest snapshot of the source
// taken at or before T, and answers 400 (like the real API past its
// retention window) when there is none. Tests take a snapshot, write,
// and branch at a time between the two. It returns the snapshot's time.
func (s *Server) Snapshot(t testing.TB, db string) time.Time {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dbs[db]
	if d == nil || !d.ready || d.isSchema {
		t.Fatalf("tursotest: Snapshot(%q): no such database with a data plane", db)
	}
	s.seq++
	ns := fmt.Sprintf("snap_%d_%s", s.seq, d.ns)
	if err := s.fork(d.ns, ns); err != nil {
		t.Fatalf("tursotest: snapshot of %s: %v", db, err)
	}
	// Stamped once the fork is done: a snapshot never holds a write made
	// after its time.
	at := time.Now().UTC()
	d.snapshots = append(d.snapshots, snapshot{at: at, ns: ns})
	return at
}

// Package sqld keeps tenant databases as namespaces of a self-hosted
// libSQL server (sqld --enable-namespaces): its admin API creates, forks
// and deletes them, and each is reached over Hrana with the namespace in
// the x-namespace-bin header. sqld cannot list its namespaces, so the
// platform keeps its own catalog in the central database.
//
// sqld checks no names (it creates "a/b" as a nested directory, and ".."
// outside its data directory), so every name is validated here before any
// request is sent.
package sqld

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Catalog records the namespaces the platform made (central.Catalog).
type Catalog interface {
	Names(ctx context.Context) ([]string, error)
	Add(ctx context.Context, name string) (added bool, err error)
	Remove(ctx context.Context, name string) error
}

// Options configure the platform.
type Options struct {
	URL      string // Hrana (user) API, e.g. http://127.0.0.1:8080
	AdminURL string // admin API, e.g. http://127.0.0.1:9090
	AdminKey string // sqld --admin-auth-key; "" if none
	// SigningKey signs the tokens of every data-plane request, when sqld
	// checks them (--auth-jwt-key-file holds its public half). Without
	// it the read-only console is refused: only a read-only token makes
	// a remote connection read-only.
	SigningKey ed25519.PrivateKey
	Catalog    Catalog
	// ArchiveDir keeps a deleted namespace's last copy, so that Restore
	// can bring it back; "" deletes for good.
	ArchiveDir string
	// HTTPClient calls the admin API; nil for one with timeouts.
	HTTPClient *http.Client
	// PublicURL is how tenants' applications reach sqld, a template whose
	// host name starts with the label {namespace} (see CheckPublicURL):
	// sqld takes the namespace from the Host header's first label.
	// "" refuses Credentials.
	PublicURL string
	// Now is the clock credentials' expiry counts from; default time.Now.
	Now func() time.Time
}

// Platform is the sqld platform.
type Platform struct {
	o    Options
	http *http.Client

	// seedByURL: sqld may fetch an import's dump from a loopback server.
	seedByURL bool

	mu        sync.Mutex
	enforced  bool      // sqld was seen refusing a request without a token
	full      string    // the full-access token, signed at most hourly
	fullRenew time.Time // when to sign the next one
}

var (
	_ platform.Platform      = (*Platform)(nil)
	_ platform.UsageReporter = (*Platform)(nil)
)

// New returns the platform. It sends nothing: Check does.
func New(o Options) (*Platform, error) {
	if o.Catalog == nil {
		return nil, errors.New("sqld platform: no catalog")
	}
	for what, u := range map[string]string{"--sqld-url": o.URL, "--sqld-admin-url": o.AdminURL} {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("%s %q: want an http(s) URL", what, u)
		}
	}
	o.URL, o.AdminURL = strings.TrimRight(o.URL, "/"), strings.TrimRight(o.AdminURL, "/")
	c := o.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: time.Minute,
		}}
	}
	if o.PublicURL != "" {
		if err := CheckPublicURL(o.PublicURL); err != nil {
			return nil, err
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ArchiveDir != "" {
		if err := os.MkdirAll(o.ArchiveDir, 0o750); err != nil {
			return nil, err
		}
	}
	return &Platform{o: o, http: c, seedByURL: onThisMachine(o.AdminURL)}, nil
}

// Name implements platform.Platform.
func (p *Platform) Name() string { return "sqld" }

// NoPointInTime is why a sqld branch cannot be made as of a past time.
const NoPointInTime = "Point-in-time branching on sqld needs its S3 backups (bottomless replication), which this server is not run with: branch without a timestamp, or use the turso platform."

// Caps implements platform.Platform.
func (p *Platform) Caps() platform.Caps {
	return platform.Caps{NoPointInTime: NoPointInTime, Restore: p.o.ArchiveDir != ""}
}

// Check asks the admin API whether it is there and is sqld's.
func (p *Platform) Check(ctx context.Context) error {
	_, err := p.admin(ctx, http.MethodGet, "/", nil)
	return err
}

// admin sends one admin API request and returns the body of a 2xx answer,
// or the error sqld gave as a fleet error.
func (p *Platform) admin(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.o.AdminURL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.o.AdminKey != "" {
		req.Header.Set("Authorization", "Basic "+p.o.AdminKey)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fleet.Errorf(fleet.EUNAVAILABLE, "Cannot reach sqld's admin API at %s: %v.", p.o.AdminURL, unwrapURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fleet.Errorf(fleet.EUNAVAILABLE, "sqld's admin API broke off its answer: %v.", err)
	}
	// sqld answers routes it does not have with 200 and a gRPC status:
	// a wrong URL must not look like success.
	if resp.Header.Get("Grpc-Status") != "" {
		return nil, fleet.Errorf(fleet.EUNAVAILABLE, "%s does not answer like sqld's admin API (is --sqld-admin-url the admin port?).", p.o.AdminURL)
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	return nil, adminError(resp.StatusCode, b)
}

// adminError turns sqld's error answer into a fleet error.
func adminError(status int, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	msg = fleet.Truncate(msg, 300)
	switch {
	case status == http.StatusUnauthorized:
		return fleet.Errorf(fleet.EUNAVAILABLE, "sqld's admin API refused the key (set TENANTRY_SQLD_ADMIN_KEY to its --admin-auth-key).")
	case strings.Contains(msg, "already exists"):
		return fleet.Errorf(fleet.ECONFLICT, "sqld: %s.", strings.TrimSuffix(msg, "."))
	case strings.Contains(msg, "doesn't exist"):
		return fleet.Errorf(fleet.ENOTFOUND, "sqld: %s.", strings.TrimSuffix(msg, "."))
	case status == http.StatusNotFound:
		// sqld says which namespace is missing; a bare 404 is another server.
		return fleet.Errorf(fleet.EUNAVAILABLE, "The admin URL answered 404 without saying what is missing: is it sqld's admin API (--admin-listen-addr)?")
	case status/100 == 4:
		return fleet.Errorf(fleet.EINVALID, "sqld refused: %s.", strings.TrimSuffix(msg, "."))
	}
	return fleet.Errorf(fleet.EUNAVAILABLE, "sqld failed (%d): %s.", status, strings.TrimSuffix(msg, "."))
}

// unwrapURL drops url.Error's repetition of the method and URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func nsPath(name string, rest ...string) string {
	return "/v1/namespaces/" + url.PathEscape(name) + strings.Join(rest, "")
}

// stats is what sqld's stats endpoint tells of a namespace.
type stats struct {
	RowsRead    int64 `json:"rows_read_count"`
	RowsWritten int64 `json:"rows_written_count"`
	Storage     int64 `json:"storage_bytes_used"`
	TopQueries  []struct {
		Query       string `json:"query"`
		RowsRead    int64  `json:"rows_read"`
		RowsWritten int64  `json:"rows_written"`
	} `json:"top_queries"`
}

func (p *Platform) stats(ctx context.Context, name string) (stats, error) {
	var s stats
	b, err := p.admin(ctx, http.MethodGet, nsPath(name, "/stats"), nil)
	if err != nil {
		if fleet.ErrorCode(err) == fleet.ENOTFOUND {
			return s, notFound(name)
		}
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fleet.Errorf(fleet.EUNAVAILABLE, "sqld's stats of %q are not JSON: %v.", name, err)
	}
	return s, nil
}

func notFound(name string) error {
	return fleet.Errorf(fleet.ENOTFOUND, "Tenant %q not found on sqld.", name)
}

func (p *Platform) describe(name string, s stats) platform.Database {
	return platform.Database{Name: name, ID: name, URL: p.o.URL + "#" + name, SizeBytes: s.Storage}
}

// Get implements platform.Platform.
func (p *Platform) Get(ctx context.Context, name string) (platform.Database, error) {
	if err := fleet.ValidateName(name); err != nil {
		return platform.Database{}, err
	}
	s, err := p.stats(ctx, name)
	if err != nil {
		return platform.Database{}, err
	}
	return p.describe(name, s), nil
}

// List implements platform.Platform: the catalog, without asking sqld
// about each namespace (on a fleet of thousands that would cost more than
// the collection it precedes). A namespace deleted behind Tenantry's back
// is found when it is next opened or asked for (Get); one made behind its
// back cannot be seen, as sqld has no list.
func (p *Platform) List(ctx context.Context) ([]platform.Database, error) {
	names, err := p.o.Catalog.Names(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]platform.Database, 0, len(names))
	for _, name := range names {
		if fleet.ValidateName(name) == nil {
			out = append(out, p.describe(name, stats{}))
		}
	}
	return out, nil
}

// Create implements platform.Platform. The name is recorded first, so that
// a crash between the two leaves a name List checks, never an unknown
// namespace.
func (p *Platform) Create(ctx context.Context, name string) (platform.Database, error) {
	return p.make(ctx, name, func() error {
		_, err := p.admin(ctx, http.MethodPost, nsPath(name, "/create"), struct{}{})
		return err
	})
}

// make records name, runs do, and forgets name again if do failed and the
// name was not already there.
func (p *Platform) make(ctx context.Context, name string, do func() error) (platform.Database, error) {
	if err := fleet.ValidateName(name); err != nil {
		return platform.Database{}, err
	}
	added, err := p.o.Catalog.Add(ctx, name)
	if err != nil {
		return platform.Database{}, err
	}
	if err := do(); err != nil {
		if added {
			_ = p.o.Catalog.Remove(context.WithoutCancel(ctx), name)
		}
		if fleet.ErrorCode(err) == fleet.ECONFLICT {
			return platform.Database{}, fleet.Errorf(fleet.ECONFLICT, "Tenant %q already exists on sqld.", name)
		}
		return platform.Database{}, err
	}
	return platform.Database{Name: name, ID: name, URL: p.o.URL + "#" + name, CreatedAt: time.Now().UTC()}, nil
}

// Clone implements platform.Platform with sqld's fork, which copies a
// consistent snapshot (and the source's configuration). A point in time
// needs S3 backups: it is refused here, as sqld silently ignores a
// timestamp it cannot parse and makes a current copy instead.
func (p *Platform) Clone(ctx context.Context, src, dst string, at time.Time) (platform.Database, error) {
	if err := fleet.ValidateName(src); err != nil {
		return platform.Database{}, err
	}
	if err := fleet.ValidateName(dst); err != nil {
		return platform.Database{}, err
	}
	if !at.IsZero() {
		return platform.Database{}, fleet.Errorf(fleet.EINVALID, "%s", NoPointInTime)
	}
	return p.make(ctx, dst, func() error {
		_, err := p.admin(ctx, http.MethodPost, nsPath(src, "/fork/", url.PathEscape(dst)), struct{}{})
		if fleet.ErrorCode(err) == fleet.ENOTFOUND {
			return notFound(src)
		}
		return err
	})
}

// Delete implements platform.Platform. With an archive directory the
// namespace is exported there first, and nothing is deleted if that fails.
func (p *Platform) Delete(ctx context.Context, name string) error {
	if err := fleet.ValidateName(name); err != nil {
		return err
	}
	if p.o.ArchiveDir != "" {
		if err := p.archive(ctx, name); err != nil {
			return err
		}
	}
	return p.drop(ctx, name)
}

// drop deletes the namespace and forgets it.
func (p *Platform) drop(ctx context.Context, name string) error {
	if _, err := p.admin(ctx, http.MethodDelete, nsPath(name), nil); err != nil {
		if fleet.ErrorCode(err) == fleet.ENOTFOUND {
			_ = p.o.Catalog.Remove(ctx, name)
			return notFound(name)
		}
		return err
	}
	return p.o.Catalog.Remove(context.WithoutCancel(ctx), name)
}

// Discard implements platform.Platform.
func (p *Platform) Discard(ctx context.Context, name string) error {
	if err := fleet.ValidateName(name); err != nil {
		return err
	}
	if err := p.drop(ctx, name); err != nil && fleet.ErrorCode(err) != fleet.ENOTFOUND {
		return err
	}
	return nil
}

// archive exports a namespace into the archive directory, under a name
// that sorts by time.
func (p *Platform) archive(ctx context.Context, name string) error {
	dir := filepath.Join(p.o.ArchiveDir, name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := p.Export(ctx, name, f); err != nil {
		f.Close()
		if fleet.ErrorCode(err) == fleet.ENOTFOUND {
			return err
		}
		return fleet.Errorf(fleet.EUNAVAILABLE, "Could not keep a copy of %q before deleting it, so nothing was deleted: %s", name, fleet.ErrorMessage(err))
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, time.Now().UTC().Format("20060102T150405.000000000Z")+".db"))
}

// Restore implements platform.Platform: the newest archived copy becomes
// the namespace again, and leaves the archive.
func (p *Platform) Restore(ctx context.Context, name string) (platform.Database, error) {
	if err := fleet.ValidateName(name); err != nil {
		return platform.Database{}, err
	}
	if p.o.ArchiveDir == "" {
		return platform.Database{}, fleet.Errorf(fleet.EINVALID, "This sqld platform keeps no copies of deleted tenants.")
	}
	dir := filepath.Join(p.o.ArchiveDir, name)
	entries, _ := os.ReadDir(dir)
	var copies []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".db") && !strings.HasPrefix(e.Name(), ".") {
			copies = append(copies, e.Name())
		}
	}
	if len(copies) == 0 {
		return platform.Database{}, fleet.Errorf(fleet.ENOTFOUND, "No deleted copy of %q to restore.", name)
	}
	newest := filepath.Join(dir, slices.Max(copies))
	f, err := os.Open(newest)
	if err != nil {
		return platform.Database{}, err
	}
	defer f.Close()
	d, err := p.Import(ctx, name, f)
	if err != nil {
		return platform.Database{}, err
	}
	_ = os.Remove(newest)
	return d, nil
}

// token returns a token for the data plane ("" when there is no key):
// full access, or read-only on one namespace. The full-access token is
// signed once an hour, not per request: a collection over thousands of
// namespaces would otherwise sign thousands.
func (p *Platform) token(name string, readOnly bool) (string, error) {
	if p.o.SigningKey == nil {
		return "", nil
	}
	now := time.Now()
	if readOnly {
		return tenantdb.SignJWT(p.o.SigningKey, map[string]any{"a": "ro", "id": name, "exp": now.Add(time.Hour).Unix()})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.full == "" || now.After(p.fullRenew) {
		tok, err := tenantdb.SignJWT(p.o.SigningKey, map[string]any{"exp": now.Add(time.Hour).Unix()})
		if err != nil {
			return "", err
		}
		p.full, p.fullRenew = tok, now.Add(45*time.Minute)
	}
	return p.full, nil
}

// remote is the way to a namespace over Hrana.
func (p *Platform) remote(name string, readOnly bool) (tenantdb.Remote, error) {
	tok, err := p.token(name, readOnly)
	return tenantdb.Remote{URL: p.o.URL, Namespace: name, Token: tok}, err
}

func (p *Platform) open(name string, readOnly bool) (*sql.DB, error) {
	r, err := p.remote(name, readOnly)
	if err != nil {
		return nil, err
	}
	return tenantdb.OpenRemote(r)
}

// Open implements platform.Platform. Nothing is sent until the first
// statement, which fails for a namespace that does not exist.
func (p *Platform) Open(ctx context.Context, name string) (*sql.DB, error) {
	if err := fleet.ValidateName(name); err != nil {
		return nil, err
	}
	return p.open(name, false)
}

// QueryOnce runs one read statement in one request (the collection's way
// to thousands of namespaces); see tenantdb.Remote.QueryOnce.
func (p *Platform) QueryOnce(ctx context.Context, name, query string, args ...any) (*tenantdb.Result, error) {
	if err := fleet.ValidateName(name); err != nil {
		return nil, err
	}
	r, err := p.remote(name, false)
	if err != nil {
		return nil, err
	}
	res, err := r.QueryOnce(ctx, query, args...)
	var se *tenantdb.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound && strings.Contains(se.Message, "doesn't exist") {
		return nil, notFound(name)
	}
	return res, err
}

// OpenConsole implements platform.Platform: a read-only token makes the
// connection read-only (sqld answers 403 to any write, whatever the SQL
// says), and sqld itself refuses ATTACH, VACUUM and temporary tables in
// any mode. It is a pool of one connection, not a *sql.Conn: after a 403
// the client's stream is dead, and the pool replaces it.
func (p *Platform) OpenConsole(ctx context.Context, name string, write bool) (platform.ConsoleConn, error) {
	if err := fleet.ValidateName(name); err != nil {
		return nil, err
	}
	if !write {
		if p.o.SigningKey == nil {
			return nil, fleet.Errorf(fleet.EUNAVAILABLE, "The read-only SQL console on sqld needs a signing key: start sqld with --auth-jwt-key-file and give Tenantry the private key in TENANTRY_SQLD_JWT_KEY_FILE (see the README).")
		}
		if err := p.checkEnforced(ctx, name, "a read-only token would not stop writes"); err != nil {
			return nil, err
		}
	} else if _, err := p.stats(ctx, name); err != nil {
		return nil, err
	}
	db, err := p.open(name, !write)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// checkEnforced makes sure a scoped token means something: sqld refuses
// a request without a token (it ignores tokens when started without
// --auth-jwt-key-file). If it does not, the error says what is at stake
// (risk: "a read-only token would not stop writes"). It also finds an
// absent namespace. Once seen refusing, sqld is trusted for the process.
func (p *Platform) checkEnforced(ctx context.Context, name, risk string) error {
	p.mu.Lock()
	enforced := p.enforced
	p.mu.Unlock()
	if _, err := p.stats(ctx, name); err != nil {
		return err
	}
	if enforced {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.o.URL+"/v2/pipeline", strings.NewReader(`{"requests":[{"type":"close"}]}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(tenantdb.NamespaceHeader, tenantdb.NamespaceValue(name))
	resp, err := p.http.Do(req)
	if err != nil {
		return fleet.Errorf(fleet.EUNAVAILABLE, "Cannot reach sqld at %s: %v.", p.o.URL, unwrapURL(err))
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return fleet.Errorf(fleet.EUNAVAILABLE, "sqld at %s lets requests in without a token, so %s: start it with --auth-jwt-key-file (the public half of TENANTRY_SQLD_JWT_KEY_FILE).", p.o.URL, risk)
	}
	p.mu.Lock()
	p.enforced = true
	p.mu.Unlock()
	return nil
}

// Usage implements platform.UsageReporter from sqld's stats, counted
// since the namespace was made. sqld updates its storage figure lazily
// (tens of seconds behind writes).
func (p *Platform) Usage(ctx context.Context, name string) (platform.Usage, error) {
	if err := fleet.ValidateName(name); err != nil {
		return platform.Usage{}, err
	}
	s, err := p.stats(ctx, name)
	if err != nil {
		return platform.Usage{}, err
	}
	u := platform.Usage{RowsRead: s.RowsRead, RowsWritten: s.RowsWritten, StorageBytes: s.Storage}
	for _, q := range s.TopQueries {
		u.TopQueries = append(u.TopQueries, platform.QueryStat{SQL: q.Query, RowsRead: q.RowsRead, RowsWritten: q.RowsWritten})
	}
	slices.SortStableFunc(u.TopQueries, func(a, b platform.QueryStat) int {
		return int((b.RowsRead + b.RowsWritten) - (a.RowsRead + a.RowsWritten))
	})
	return u, nil
}

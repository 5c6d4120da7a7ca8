// Package turso keeps tenant databases on Turso Cloud: its Platform API
// (shared/TURSO_API.md) for the control plane, libSQL over HTTP to each
// database's Hostname for the data plane. Its test double is tursotest.
package turso

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Options configure the Turso platform. Org and Token are required.
type Options struct {
	Org   string // organization slug
	Token string // platform API token; sent in a header only
	Group string // the group whose databases are the fleet; default "default"
	// APIURL is the Platform API; default https://api.turso.tech.
	APIURL string
	// HTTPClient calls the API and fetches dumps; default a client of
	// its own with connect and header timeouts.
	HTTPClient *http.Client
	// DataProxy, for tests only, receives data-plane requests while the
	// Host header stays the database's Hostname (tenantdb.Remote.Proxy).
	DataProxy string
	// ReadyTimeout bounds the wait for a new database's data plane to
	// answer; default 60 s.
	ReadyTimeout time.Duration
	// TokenTTL is the lifetime of the data-plane tokens Tenantry mints;
	// default 24 h. A token is renewed once three quarters of it passed.
	TokenTTL time.Duration
	// PageSize is the list page size asked for; default 100.
	PageSize int
	// MaxAttempts bounds the attempts of one API call; default 5.
	MaxAttempts int
	// RetryBase and RetryMax shape the backoff between attempts:
	// defaults 250 ms and 10 s.
	RetryBase, RetryMax time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a longer one
	// fails the call at once. Default 60 s.
	MaxRetryAfter time.Duration
	// ReadyPoll is the first wait between readiness probes of a new
	// database, doubled up to 2 s; default 100 ms.
	ReadyPoll time.Duration
	// Sleep waits between API attempts; tests replace it. Default a timer
	// that ctx interrupts.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock tokens are renewed by; default time.Now.
	Now func() time.Time
	// TempDir holds imports and exports being made; default os.TempDir().
	TempDir string
}

// Platform is the Turso Cloud platform. It is safe for concurrent use.
type Platform struct {
	o          Options
	base       string // APIURL + "/v1/organizations/<org>"
	apiClient  *http.Client
	dataClient *http.Client

	hmu   sync.Mutex
	hosts map[string]string // database name → Hostname, from the API

	tmu    sync.Mutex
	tokens map[tokenKey]*tokenEntry
}

var (
	_ platform.Platform      = (*Platform)(nil)
	_ platform.UsageReporter = (*Platform)(nil)
)

var slugRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// New returns the Turso platform. It makes no request.
func New(o Options) (*Platform, error) {
	if !slugRE.MatchString(o.Org) || len(o.Org) > 60 {
		return nil, fleet.Errorf(fleet.EINVALID, "The Turso organization %q is not an organization slug (lowercase letters, digits and '-').", fleet.Truncate(o.Org, 70))
	}
	if o.Token == "" {
		return nil, fleet.Errorf(fleet.EINVALID, "The Turso platform needs a platform API token (turso auth api-tokens mint).")
	}
	if o.Group == "" {
		o.Group = "default"
	}
	if !slugRE.MatchString(o.Group) {
		return nil, fleet.Errorf(fleet.EINVALID, "The Turso group %q is not a group name.", fleet.Truncate(o.Group, 70))
	}
	if o.APIURL == "" {
		o.APIURL = "https://api.turso.tech"
	}
	u, err := url.Parse(o.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return nil, fleet.Errorf(fleet.EINVALID, "The Turso API URL %q is not an http(s) URL without credentials or query.", tenantdb.Redact(o.APIURL))
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadyTimeout, 60*time.Second)
	def(&o.TokenTTL, 24*time.Hour)
	def(&o.RetryBase, 250*time.Millisecond)
	def(&o.RetryMax, 10*time.Second)
	def(&o.MaxRetryAfter, 60*time.Second)
	def(&o.ReadyPoll, 100*time.Millisecond)
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &Platform{
		o:      o,
		base:   strings.TrimRight(o.APIURL, "/") + "/v1/organizations/" + url.PathEscape(o.Org),
		hosts:  make(map[string]string),
		tokens: make(map[tokenKey]*tokenEntry),
	}
	p.apiClient, p.dataClient = o.HTTPClient, o.HTTPClient
	if o.HTTPClient == nil {
		tr := &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			ForceAttemptHTTP2:     true,
		}
		p.apiClient = &http.Client{Transport: tr, Timeout: 2 * time.Minute}
		// A dump streams for as long as the database is big: only ctx
		// bounds it.
		p.dataClient = &http.Client{Transport: tr}
	}
	return p, nil
}

// Name implements platform.Platform.
func (p *Platform) Name() string { return "turso" }

// Caps implements platform.Platform: Turso branches at a point in time
// (within the plan's history window) but keeps nothing of a deleted
// database to restore.
func (p *Platform) Caps() platform.Caps {
	return platform.Caps{PointInTime: true}
}

func (p *Platform) now() time.Time { return p.o.Now() }

// checkName refuses names that are no tenant names, and names too long
// for the organization: Turso's Hostname is <name>-<org>, one DNS label.
func (p *Platform) checkName(name string) error {
	if err := fleet.ValidateName(name); err != nil {
		return err
	}
	if most := 63 - len(p.o.Org) - 1; len(name) > most {
		return fleet.Errorf(fleet.EINVALID, "Tenant name %q is too long for Turso: in organization %q names have at most %d characters.", fleet.Truncate(name, 20), p.o.Org, most)
	}
	return nil
}

// Open implements platform.Platform: libsql://<Hostname> with the group's
// full-access token. Nothing is sent until the first statement.
func (p *Platform) Open(ctx context.Context, name string) (*sql.DB, error) {
	r, err := p.remote(ctx, name)
	if err != nil {
		return nil, err
	}
	return tenantdb.OpenRemote(r)
}

// QueryOnce runs one read statement in one request, with the group's
// token: the collection's way to thousands of databases (see
// tenantdb.Remote.QueryOnce).
func (p *Platform) QueryOnce(ctx context.Context, name, query string, args ...any) (*tenantdb.Result, error) {
	r, err := p.remote(ctx, name)
	if err != nil {
		return nil, err
	}
	return r.QueryOnce(ctx, query, args...)
}

// remote is the way to a database with the group's full-access token.
func (p *Platform) remote(ctx context.Context, name string) (tenantdb.Remote, error) {
	if err := p.checkName(name); err != nil {
		return tenantdb.Remote{}, err
	}
	host, err := p.hostname(ctx, name)
	if err != nil {
		return tenantdb.Remote{}, err
	}
	tok, err := p.groupToken(ctx)
	if err != nil {
		return tenantdb.Remote{}, err
	}
	return tenantdb.Remote{URL: "libsql://" + host, Token: tok, Proxy: p.o.DataProxy}, nil
}

// OpenConsole implements platform.Platform. The token is the guard: a
// read-only database token unless write, which Turso enforces on every
// statement (writes answer 403), and a database token reaches no other
// database. Turso refuses ATTACH, VACUUM and extensions in any mode.
// After a refusal the libSQL connection is dead, so the console gets a
// *sql.DB of at most one connection, which database/sql replaces.
func (p *Platform) OpenConsole(ctx context.Context, name string, write bool) (platform.ConsoleConn, error) {
	if err := p.checkName(name); err != nil {
		return nil, err
	}
	d, err := p.get(ctx, name)
	if err != nil {
		return nil, err
	}
	tok, err := p.token(ctx, tokenKey{db: name, readOnly: !write})
	if err != nil {
		return nil, err
	}
	db, err := tenantdb.OpenRemote(tenantdb.Remote{URL: "libsql://" + d.Hostname, Token: tok, Proxy: p.o.DataProxy})
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// Usage implements platform.UsageReporter: the last 30 days' usage and
// the heaviest statements.
func (p *Platform) Usage(ctx context.Context, name string) (platform.Usage, error) {
	if err := p.checkName(name); err != nil {
		return platform.Usage{}, err
	}
	to := p.now().UTC().Truncate(time.Second)
	from := to.AddDate(0, 0, -30)
	type counts struct {
		RowsRead     int64 `json:"rows_read"`
		RowsWritten  int64 `json:"rows_written"`
		StorageBytes int64 `json:"storage_bytes"`
	}
	var usage struct {
		Database struct {
			Total     *counts `json:"total"`
			Usage     *counts `json:"usage"` // where Turso's CLI reads it
			Instances []struct {
				Usage counts `json:"usage"`
			} `json:"instances"`
		} `json:"database"`
	}
	what := fmt.Sprintf("report the usage of %q", name)
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	if _, err := p.api(ctx, call{method: "GET", path: "/databases/" + url.PathEscape(name) + "/usage", query: q, what: what}, &usage); err != nil {
		return platform.Usage{}, p.refused(err, name, what)
	}
	total := usage.Database.Total
	if total == nil {
		total = usage.Database.Usage
	}
	if total == nil {
		total = &counts{}
		for _, in := range usage.Database.Instances {
			total.RowsRead += in.Usage.RowsRead
			total.RowsWritten += in.Usage.RowsWritten
			total.StorageBytes = max(total.StorageBytes, in.Usage.StorageBytes)
		}
	}
	var stats struct {
		TopQueries []struct {
			Query       string `json:"query"`
			RowsRead    int64  `json:"rows_read"`
			RowsWritten int64  `json:"rows_written"`
		} `json:"top_queries"`
	}
	what = fmt.Sprintf("report the top queries of %q", name)
	if _, err := p.api(ctx, call{method: "GET", path: "/databases/" + url.PathEscape(name) + "/stats", what: what}, &stats); err != nil {
		return platform.Usage{}, p.refused(err, name, what)
	}
	u := platform.Usage{RowsRead: total.RowsRead, RowsWritten: total.RowsWritten, StorageBytes: total.StorageBytes, From: from, To: to}
	for _, q := range stats.TopQueries {
		u.TopQueries = append(u.TopQueries, platform.QueryStat{SQL: q.Query, RowsRead: q.RowsRead, RowsWritten: q.RowsWritten})
	}
	slices.SortStableFunc(u.TopQueries, func(a, b platform.QueryStat) int {
		return cmp.Compare(b.RowsRead+b.RowsWritten, a.RowsRead+a.RowsWritten)
	})
	return u, nil
}

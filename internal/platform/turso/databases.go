package turso

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// The control plane: databases listed, made, branched and deleted
// through the Platform API.

// dbJSON is the part of the API's Database object Tenantry reads. JSON
// keys match case-insensitively, so Turso CLI's "dbId" reads as DbId.
type dbJSON struct {
	Name     string `json:"Name"`
	DbID     string `json:"DbId"`
	Hostname string `json:"Hostname"`
	Group    string `json:"group"`
	IsSchema bool   `json:"is_schema"`
	Archived bool   `json:"archived"`
	Parent   *struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		BranchedAt string `json:"branched_at"`
	} `json:"parent"`
}

func (p *Platform) database(d dbJSON) platform.Database {
	return platform.Database{Name: d.Name, ID: d.DbID, URL: "libsql://" + d.Hostname}
}

func (p *Platform) setHost(name, host string) {
	p.hmu.Lock()
	defer p.hmu.Unlock()
	p.hosts[name] = host
}

func (p *Platform) forget(name string) {
	p.hmu.Lock()
	delete(p.hosts, name)
	p.hmu.Unlock()
	p.forgetTokens(name)
}

// hostname returns a database's Hostname: known from a list, get or
// create, or asked for (ENOTFOUND when the database does not exist).
func (p *Platform) hostname(ctx context.Context, name string) (string, error) {
	p.hmu.Lock()
	h, ok := p.hosts[name]
	p.hmu.Unlock()
	if ok {
		return h, nil
	}
	d, err := p.get(ctx, name)
	if err != nil {
		return "", err
	}
	return d.Hostname, nil
}

// List implements platform.Platform: every page of the group's
// databases, without Multi-DB Schema parents and archived databases.
func (p *Platform) List(ctx context.Context) ([]platform.Database, error) {
	var out []platform.Database
	seen := make(map[string]bool)
	cursor := ""
	for pages := 1; ; pages++ {
		q := url.Values{"group": {p.o.Group}, "limit": {strconv.Itoa(p.o.PageSize)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Databases  []dbJSON `json:"databases"`
			Pagination *struct {
				Next *string `json:"next"`
			} `json:"pagination"`
		}
		c := call{method: "GET", path: "/databases", query: q, what: "list databases"}
		if _, err := p.api(ctx, c, &page); err != nil {
			return nil, p.refused(err, "", c.what)
		}
		for _, d := range page.Databases {
			// The group filter again: a server that ignored it must not
			// bring in another group's databases.
			if d.IsSchema || d.Archived || d.Group != "" && d.Group != p.o.Group || seen[d.Name] || fleet.ValidateName(d.Name) != nil {
				continue
			}
			seen[d.Name] = true
			p.setHost(d.Name, d.Hostname)
			out = append(out, p.database(d))
		}
		if page.Pagination == nil || page.Pagination.Next == nil || *page.Pagination.Next == "" {
			break
		}
		if *page.Pagination.Next == cursor || pages >= 100_000 {
			return nil, fleet.Errorf(fleet.EUNAVAILABLE, "Turso's list of databases does not advance past page %d; try again later.", pages)
		}
		cursor = *page.Pagination.Next
	}
	slices.SortFunc(out, func(a, b platform.Database) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// get asks the API for a database of the group.
func (p *Platform) get(ctx context.Context, name string) (dbJSON, error) {
	var resp struct {
		Database dbJSON `json:"database"`
	}
	what := fmt.Sprintf("look up %q", name)
	c := call{method: "GET", path: "/databases/" + url.PathEscape(name), what: what}
	if _, err := p.api(ctx, c, &resp); err != nil {
		return dbJSON{}, p.refused(err, name, what)
	}
	d := resp.Database
	switch {
	case d.Name != name || d.Hostname == "":
		return dbJSON{}, fleet.Errorf(fleet.EUNAVAILABLE, "Turso answered the look-up of %q with another database or none.", name)
	case d.IsSchema:
		return dbJSON{}, fleet.Errorf(fleet.ENOTFOUND, "%q on Turso is a Multi-DB Schema database, not a tenant.", name)
	case d.Group != "" && d.Group != p.o.Group:
		return dbJSON{}, fleet.Errorf(fleet.ENOTFOUND, "Tenant %q not found in Turso group %q (a database of that name is in group %q).", name, p.o.Group, d.Group)
	case d.Archived:
		return dbJSON{}, fleet.Errorf(fleet.EUNAVAILABLE, "%q is archived by Turso (idle on the free plan); unarchive it with the Turso CLI first.", name)
	}
	p.setHost(name, d.Hostname)
	return d, nil
}

// Get implements platform.Platform.
func (p *Platform) Get(ctx context.Context, name string) (platform.Database, error) {
	if err := p.checkName(name); err != nil {
		return platform.Database{}, err
	}
	d, err := p.get(ctx, name)
	if err != nil {
		return platform.Database{}, err
	}
	return p.database(d), nil
}

// seed is the create body's seed: a branch of another database, at a
// point in time when Timestamp is set.
type seed struct {
	Type      string `json:"type"`
	Name      string `json:"name"`
	Timestamp string `json:"timestamp,omitempty"`
}

// Create implements platform.Platform. It returns once the new database
// answers on its data plane (see waitReady).
func (p *Platform) Create(ctx context.Context, name string) (platform.Database, error) {
	if err := p.checkName(name); err != nil {
		return platform.Database{}, err
	}
	return p.create(ctx, name, nil, fmt.Sprintf("create %q", name))
}

// Clone implements platform.Platform: a database seeded from src, as of
// at when at is not zero (Turso keeps a history window: 24 h on the free
// plan, up to 90 days on others; outside it Turso refuses).
func (p *Platform) Clone(ctx context.Context, src, dst string, at time.Time) (platform.Database, error) {
	if err := p.checkName(src); err != nil {
		return platform.Database{}, err
	}
	if err := p.checkName(dst); err != nil {
		return platform.Database{}, err
	}
	if !at.IsZero() && at.After(p.now()) {
		return platform.Database{}, fleet.Errorf(fleet.EINVALID, "Cannot branch %q at %s: that is in the future.", src, at.UTC().Format(time.RFC3339))
	}
	// A missing source is said plainly, not as a refusal of the create.
	if _, err := p.get(ctx, src); err != nil {
		return platform.Database{}, err
	}
	sd := &seed{Type: "database", Name: src}
	what := fmt.Sprintf("branch %q from %q", dst, src)
	if !at.IsZero() {
		sd.Timestamp = at.UTC().Format(time.RFC3339Nano)
		what += " at " + sd.Timestamp
	}
	return p.create(ctx, dst, sd, what)
}

func (p *Platform) create(ctx context.Context, name string, sd *seed, what string) (platform.Database, error) {
	body := map[string]any{"name": name, "group": p.o.Group}
	if sd != nil {
		body["seed"] = sd
	}
	var resp struct {
		Database dbJSON `json:"database"`
	}
	started := p.now()
	ambiguous, err := p.api(ctx, call{method: "POST", path: "/databases", body: body, what: what}, &resp)
	if err != nil {
		err = p.refused(err, name, what)
		if !ambiguous || fleet.ErrorCode(err) != fleet.ECONFLICT {
			return platform.Database{}, err
		}
		// An attempt failed midway and the retry found the name taken:
		// the failed attempt may have made the database. It is taken for
		// ours only if it is what we asked for.
		d, ok := p.ours(ctx, name, sd, started)
		if !ok {
			return platform.Database{}, fleet.Errorf(fleet.ECONFLICT,
				"Tenant %q already exists on Turso: an attempt to make it failed midway and the database found is not certainly the one it made; check it, and delete it if it is a leftover.", name)
		}
		resp.Database = d
	}
	d := resp.Database
	if d.Name == "" {
		d.Name = name
	}
	// Tokens cached under this name were a deleted database's.
	p.forgetTokens(name)
	if d.Hostname == "" {
		if d, err = p.get(ctx, name); err != nil {
			return platform.Database{}, err
		}
	}
	p.setHost(name, d.Hostname)
	if err := p.waitReady(ctx, name, d.Hostname); err != nil {
		return platform.Database{}, err
	}
	return p.database(d), nil
}

// ours reports whether the database found under name after an ambiguous
// create is the one that create made: of our group, with the parent
// asked for, branched no earlier than our first attempt (a little clock
// skew allowed), and, when made empty, still empty.
func (p *Platform) ours(ctx context.Context, name string, sd *seed, started time.Time) (dbJSON, bool) {
	d, err := p.get(ctx, name)
	if err != nil {
		return dbJSON{}, false
	}
	if sd == nil {
		if d.Parent != nil {
			return dbJSON{}, false
		}
		if err := p.waitReady(ctx, name, d.Hostname); err != nil {
			return dbJSON{}, false
		}
		db, err := p.Open(ctx, name)
		if err != nil {
			return dbJSON{}, false
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil || n != 0 {
			return dbJSON{}, false
		}
		return d, true
	}
	if d.Parent == nil || d.Parent.Name != sd.Name {
		return dbJSON{}, false
	}
	if sd.Timestamp == "" {
		at, err := time.Parse(time.RFC3339Nano, d.Parent.BranchedAt)
		if err == nil && at.Before(started.Add(-5*time.Minute)) {
			return dbJSON{}, false
		}
	}
	return d, true
}

// waitReady polls a new database with SELECT 1 until its data plane
// answers: Turso can answer 404 there for seconds (once over 15 s) after
// create said yes. On timeout the database is left for Discard.
func (p *Platform) waitReady(ctx context.Context, name, host string) error {
	tok, err := p.groupToken(ctx)
	if err != nil {
		return err
	}
	db, err := tenantdb.OpenRemote(tenantdb.Remote{URL: "libsql://" + host, Token: tok, Proxy: p.o.DataProxy})
	if err != nil {
		return err
	}
	defer db.Close()
	wctx, cancel := context.WithTimeout(ctx, p.o.ReadyTimeout)
	defer cancel()
	wait := p.o.ReadyPoll
	last := "no answer"
	for {
		var one int
		err := db.QueryRowContext(wctx, `SELECT 1`).Scan(&one)
		if err == nil {
			return nil
		}
		if wctx.Err() == nil {
			last = err.Error() // typically "error code 404: ... doesn't exist"
		}
		if sleep(wctx, wait) != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fleet.Errorf(fleet.EUNAVAILABLE,
				"Turso made %q but its data plane did not answer within %s (last: %s); it was left in place: discard it or try again later.", name, p.o.ReadyTimeout, p.scrub(last))
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// Delete implements platform.Platform. Turso keeps nothing of a deleted
// database (Caps.Restore is false).
func (p *Platform) Delete(ctx context.Context, name string) error {
	if err := p.checkName(name); err != nil {
		return err
	}
	what := fmt.Sprintf("delete %q", name)
	ambiguous, err := p.api(ctx, call{method: "DELETE", path: "/databases/" + url.PathEscape(name), what: what}, nil)
	if err != nil {
		err = p.refused(err, name, what)
		if fleet.ErrorCode(err) != fleet.ENOTFOUND {
			return err
		}
		if ambiguous {
			// An attempt failed midway and the retry found nothing: that
			// attempt deleted it.
			err = nil
		}
	}
	p.forget(name)
	return err
}

// Discard implements platform.Platform: Delete, where "not found" is
// success.
func (p *Platform) Discard(ctx context.Context, name string) error {
	if err := p.Delete(ctx, name); err != nil && fleet.ErrorCode(err) != fleet.ENOTFOUND {
		return err
	}
	return nil
}

// Restore implements platform.Platform: Turso cannot bring a deleted
// database back.
func (p *Platform) Restore(ctx context.Context, name string) (platform.Database, error) {
	if err := p.checkName(name); err != nil {
		return platform.Database{}, err
	}
	return platform.Database{}, fleet.Errorf(fleet.EINVALID,
		"Turso keeps nothing of a deleted database, so %q cannot be restored. Import an export of it, or branch another database at a point in time instead.", name)
}

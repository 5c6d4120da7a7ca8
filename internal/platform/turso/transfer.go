package turso

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Import implements platform.Platform. Turso's own import (a create with
// seed "database_upload" and an upload to the new host) is replaced by
// what works on any libSQL server: the file is checked, an empty
// database is created, the file is replayed into it as SQL over the data
// plane, and the copy is compared with the file table by table. A copy
// that fails is discarded.
func (p *Platform) Import(ctx context.Context, name string, src io.Reader) (platform.Database, error) {
	if err := p.checkName(name); err != nil {
		return platform.Database{}, err
	}
	file, err := tenantdb.OpenUpload(ctx, p.o.TempDir, src)
	if err != nil {
		return platform.Database{}, err
	}
	defer file.Close()
	want, err := file.Counts(ctx)
	if err != nil {
		return platform.Database{}, err
	}

	d, err := p.Create(ctx, name)
	if err != nil {
		if fleet.ErrorCode(err) != fleet.ECONFLICT { // a conflict is someone else's database
			p.discardAfter(ctx, name)
		}
		return platform.Database{}, err
	}
	if err := p.load(ctx, name, file, want); err != nil {
		p.discardAfter(ctx, name)
		return platform.Database{}, err
	}
	return d, nil
}

// discardAfter removes what a failed import made, even when ctx ended.
func (p *Platform) discardAfter(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.o.ReadyTimeout)
	defer cancel()
	_ = p.Discard(ctx, name)
}

// load replays file into the new database name (see tenantdb.Dump.Replay)
// and checks the copy: the same tables with the same row counts (want),
// and the same user_version.
func (p *Platform) load(ctx context.Context, name string, file *tenantdb.Dump, want map[string]int64) error {
	db, err := p.Open(ctx, name)
	if err != nil {
		return err
	}
	defer db.Close()
	// One connection, so that the statements run in order on one stream.
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := file.Replay(ctx, conn); err != nil {
		var re *tenantdb.ReplayError
		if errors.As(err, &re) {
			return fleet.Errorf(fleet.EUNAVAILABLE, "Loading the file into %q on Turso failed: %s.", name, p.scrub(sqlError(re.Err)))
		}
		return err
	}
	got, err := tenantdb.TableCounts(ctx, conn)
	if err != nil {
		return fleet.Errorf(fleet.EUNAVAILABLE, "Could not check the copy of the file in %q on Turso: %s.", name, p.scrub(sqlError(err)))
	}
	var version int64
	if err := conn.QueryRowContext(ctx, `SELECT user_version FROM pragma_user_version`).Scan(&version); err != nil {
		return fleet.Errorf(fleet.EUNAVAILABLE, "Could not check the copy of the file in %q on Turso: %s.", name, p.scrub(sqlError(err)))
	}
	if !maps.Equal(got, want) || version != file.UserVersion {
		return fleet.Errorf(fleet.EUNAVAILABLE, "The copy of the file in %q on Turso differs from the file (tables and rows %v, version %d; want %v, version %d); it was discarded.",
			name, got, version, want, file.UserVersion)
	}
	return nil
}

// sqlError is the server's part of a libSQL client error: the client
// puts the failed statement first (for an import, a long INSERT of the
// tenant's data), the reason last.
func sqlError(err error) string {
	s := err.Error()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// Export implements platform.Platform: the database's SQL dump from its
// data plane (GET https://<Hostname>/dump, one consistent read, with a
// read-only token), loaded into a new SQLite file with the user_version
// the dump leaves out, written to w. (libSQL server 0.24 does not escape
// a '"' inside a table name in its dump and breaks off: such a table
// cannot be exported this way.)
func (p *Platform) Export(ctx context.Context, name string, w io.Writer) error {
	if err := p.checkName(name); err != nil {
		return err
	}
	d, err := p.get(ctx, name)
	if err != nil {
		return err
	}
	tok, err := p.token(ctx, tokenKey{db: name, readOnly: true})
	if err != nil {
		return err
	}
	db, err := tenantdb.OpenRemote(tenantdb.Remote{URL: "libsql://" + d.Hostname, Token: tok, Proxy: p.o.DataProxy})
	if err != nil {
		return err
	}
	var version int64
	err = db.QueryRowContext(ctx, `SELECT user_version FROM pragma_user_version`).Scan(&version)
	db.Close()
	if err != nil {
		return p.dataError(name, err)
	}
	dump, err := p.fetchDump(ctx, name, d.Hostname, tok)
	if err != nil {
		return err
	}
	return tenantdb.CopyDumpAsFile(ctx, dump, version, p.o.TempDir, fmt.Sprintf("Turso's dump of %q", name), w)
}

// dataError names a data-plane failure; a missing database is ENOTFOUND.
func (p *Platform) dataError(name string, err error) error {
	msg := sqlError(err)
	if strings.Contains(msg, "error code 404") || strings.Contains(msg, "doesn't exist") {
		return fleet.Errorf(fleet.ENOTFOUND, "Tenant %q not found on Turso.", name)
	}
	return fleet.Errorf(fleet.EUNAVAILABLE, "Turso could not read %q: %s.", name, p.scrub(msg))
}

// fetchDump downloads a database's SQL dump, retrying as API calls do.
// It is held in memory, as loading it takes one string.
func (p *Platform) fetchDump(ctx context.Context, name, host, tok string) (string, error) {
	u := "https://" + host + "/dump"
	if p.o.DataProxy != "" {
		u = strings.TrimRight(p.o.DataProxy, "/") + "/dump"
	}
	what := fmt.Sprintf("dump %q", name)
	resp, _, err := p.retrying(ctx, p.dataClient, what, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Host = host // through a test's proxy too, the Host names the database
		req.Header.Set("Authorization", "Bearer "+tok)
		return req, nil
	})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := p.apiErr(resp.StatusCode, b)
		if resp.StatusCode == http.StatusNotFound {
			return "", fleet.Errorf(fleet.ENOTFOUND, "Tenant %q not found on Turso.", name)
		}
		return "", fleet.Errorf(fleet.EUNAVAILABLE, "Turso refused to %s (%s).", what, e)
	}
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		return "", fleet.Errorf(fleet.EUNAVAILABLE, "Turso broke off the dump of %q: %v.", name, netError(err))
	}
	dump := b.String()
	// sqlite3's .dump format ends with COMMIT: without it the dump was cut.
	if !strings.HasSuffix(strings.TrimSpace(dump), "COMMIT;") {
		return "", fleet.Errorf(fleet.EUNAVAILABLE, "Turso's dump of %q is incomplete (%d bytes, no COMMIT at the end); try again.", name, len(dump))
	}
	return dump, nil
}

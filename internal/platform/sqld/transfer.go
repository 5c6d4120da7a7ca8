package sqld

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Export implements platform.Platform: sqld's /dump of the namespace (one
// consistent read), loaded into a new SQLite file, with the user_version
// the dump leaves out.
func (p *Platform) Export(ctx context.Context, name string, w io.Writer) error {
	dump, version, err := p.exportDump(ctx, name)
	if err != nil {
		return err
	}
	return tenantdb.CopyDumpAsFile(ctx, dump, version, "", fmt.Sprintf("sqld's dump of %q", name), w)
}

// dump fetches sqld's SQL dump of a namespace.
func (p *Platform) dump(ctx context.Context, name string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.o.URL+"/dump", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set(tenantdb.NamespaceHeader, tenantdb.NamespaceValue(name))
	tok, err := p.token(name, false)
	if err != nil {
		return "", err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return "", fleet.Errorf(fleet.EUNAVAILABLE, "Cannot reach sqld at %s: %v.", p.o.URL, unwrapURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		err := adminError(resp.StatusCode, b)
		if fleet.ErrorCode(err) == fleet.ENOTFOUND {
			return "", notFound(name)
		}
		return "", err
	}
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		return "", fleet.Errorf(fleet.EUNAVAILABLE, "sqld broke off the dump of %q: %v.", name, err)
	}
	return b.String(), nil
}

// dataError names a data-plane failure; a missing namespace is ENOTFOUND.
func (p *Platform) dataError(name string, err error) error {
	if strings.Contains(err.Error(), "doesn't exist") || strings.Contains(err.Error(), "error code 404") {
		return notFound(name)
	}
	return fleet.Errorf(fleet.EUNAVAILABLE, "sqld could not read %q: %v.", name, err)
}

// Import implements platform.Platform: the file is checked and the
// namespace made from it: seeded by sqld from a dump_url when sqld runs on
// this machine (it fetches the file, written out as SQL, from a one-shot
// loopback server), otherwise created empty and the file replayed into it
// over Hrana. sqld does not check what a dump_url gave it, so the copy is
// compared with the file, table by table, and discarded if it differs.
func (p *Platform) Import(ctx context.Context, name string, src io.Reader) (platform.Database, error) {
	if err := fleet.ValidateName(name); err != nil {
		return platform.Database{}, err
	}
	file, err := tenantdb.OpenUpload(ctx, "", src)
	if err != nil {
		return platform.Database{}, err
	}
	defer file.Close()
	want, err := file.Counts(ctx)
	if err != nil {
		return platform.Database{}, err
	}
	var d platform.Database
	seeded := false
	if p.seedByURL {
		var dump bytes.Buffer
		if err := file.Write(ctx, &dump); err != nil {
			return platform.Database{}, err
		}
		d, err = p.seedFromURL(ctx, name, dump.Bytes())
		if err != nil && fleet.ErrorCode(err) != fleet.ECONFLICT && fleet.ErrorCode(err) != fleet.EINVALID {
			// sqld on a loopback address may still not reach ours (a
			// container's loopback is its own): load over Hrana instead.
			_ = p.Discard(context.WithoutCancel(ctx), name)
		} else {
			seeded = true
		}
	}
	if !seeded {
		d, err = p.Create(ctx, name)
		if err == nil {
			err = p.load(ctx, name, file)
		}
	}
	if err == nil {
		err = p.verify(ctx, name, want)
	}
	if err != nil {
		if fleet.ErrorCode(err) != fleet.ECONFLICT {
			_ = p.Discard(context.WithoutCancel(ctx), name)
		}
		return platform.Database{}, err
	}
	return d, nil
}

// onThisMachine reports whether sqld runs on this machine, so that it may
// fetch a dump from a loopback address.
func onThisMachine(adminURL string) bool {
	u, err := url.Parse(adminURL)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// seedFromURL creates the namespace with sqld fetching the dump from a
// loopback server that answers one secret path, once.
func (p *Platform) seedFromURL(ctx context.Context, name string, dump []byte) (platform.Database, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return platform.Database{}, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	path := "/" + hex.EncodeToString(secret) + ".sql"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/sql")
		w.Write(dump)
	})}
	go srv.Serve(l)
	defer srv.Close()
	dumpURL := "http://" + l.Addr().String() + path
	return p.make(ctx, name, func() error {
		_, err := p.admin(ctx, http.MethodPost, nsPath(name, "/create"), map[string]string{"dump_url": dumpURL})
		return err
	})
}

// load replays the file into a new namespace over Hrana, in requests of
// a modest size (see tenantdb.Dump.Replay).
func (p *Platform) load(ctx context.Context, name string, file *tenantdb.Dump) error {
	db, err := p.open(name, false)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fleet.Errorf(fleet.EUNAVAILABLE, "Loading the file into %q failed: %v.", name, err)
	}
	defer conn.Close()
	if err := file.Replay(ctx, conn); err != nil {
		var re *tenantdb.ReplayError
		if errors.As(err, &re) {
			return fleet.Errorf(fleet.EUNAVAILABLE, "Loading the file into %q failed: %v.", name, re.Err)
		}
		return err
	}
	return nil
}

// verify compares the namespace's tables and row counts with want.
func (p *Platform) verify(ctx context.Context, name string, want map[string]int64) error {
	db, err := p.open(name, false)
	if err != nil {
		return err
	}
	defer db.Close()
	got, err := tenantdb.TableCounts(ctx, db)
	if err != nil {
		return p.dataError(name, err)
	}
	if !maps.Equal(got, want) {
		return fleet.Errorf(fleet.EUNAVAILABLE, "sqld's copy of the file differs from it (tables and rows %v, want %v); it was discarded.", got, want)
	}
	return nil
}

package sqld_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"path/filepath"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/platformtest"
	"github.com/tenantry/tenantry/internal/platform/sqld"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// newPlatform returns a sqld platform over a fresh sqld and a fresh
// central database for its catalog.
func newPlatform(t *testing.T, srv *sqldtest.Server, archive bool) *sqld.Platform {
	t.Helper()
	dir := t.TempDir()
	u, err := tenantdb.CentralURL(filepath.Join(dir, "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := central.Open(context.Background(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o := sqld.Options{URL: srv.URL, AdminURL: srv.AdminURL, AdminKey: srv.AdminKey, SigningKey: srv.Key, Catalog: db.Catalog("sqld"),
		PublicURL: publicURL}
	if archive {
		o.ArchiveDir = filepath.Join(dir, "archive")
	}
	p, err := sqld.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

// publicURL is the tests' public URL template: its host names resolve
// nowhere, and the tests send their requests to the sqld with the Host
// header kept (platformtest.Options.DataProxy), as a TLS proxy in front
// of sqld would.
const publicURL = "http://{namespace}.db.test"

func TestContract(t *testing.T) {
	platformtest.RunWith(t, func(t *testing.T) platform.Platform {
		return newPlatform(t, sqldtest.Start(t, sqldtest.Options{AdminKey: "admin-secret"}), true)
	}, platformtest.Options{DataProxy: func(p platform.Platform) string { return p.(*sqld.Platform).HranaURL() }})
}

func TestImportOverHrana(t *testing.T) {
	srv := sqldtest.Start(t, sqldtest.Options{})
	p := newPlatform(t, srv, false)
	p.LoadOverHrana()
	ctx := t.Context()
	if _, err := p.Create(ctx, "orig"); err != nil {
		t.Fatal(err)
	}
	db, _ := p.Open(ctx, "orig")
	defer db.Close()
	for _, q := range []string{`CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT, b BLOB, r REAL)`,
		`INSERT INTO t(v, b, r) VALUES ('it''s;' || char(10) || 'multi', x'00ff', 1.5), (NULL, NULL, 1e300)`,
		`CREATE INDEX t_v ON t(v)`, `CREATE VIEW tv AS SELECT v FROM t`, `PRAGMA user_version = 4`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var file bytes.Buffer
	if err := p.Export(ctx, "orig", &file); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Import(ctx, "copy", bytes.NewReader(file.Bytes())); err != nil {
		t.Fatal(err)
	}
	cdb, _ := p.Open(ctx, "copy")
	defer cdb.Close()
	var v, hex string
	var r float64
	var uv, seq int
	if err := cdb.QueryRowContext(ctx, `SELECT v, hex(b), r FROM t WHERE id = 1`).Scan(&v, &hex, &r); err != nil || v != "it's;\nmulti" || hex != "00FF" || r != 1.5 {
		t.Fatalf("copied row: %q %q %v %v", v, hex, r, err)
	}
	if err := cdb.QueryRowContext(ctx, `SELECT user_version FROM pragma_user_version`).Scan(&uv); err != nil || uv != 4 {
		t.Fatalf("user_version %d %v", uv, err)
	}
	if err := cdb.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 't'`).Scan(&seq); err != nil || seq != 2 {
		t.Fatalf("sequence %d %v", seq, err)
	}
	if err := cdb.QueryRowContext(ctx, `SELECT count(*) FROM tv`).Scan(&seq); err != nil || seq != 2 {
		t.Fatalf("view: %d %v", seq, err)
	}
}

// TestRefusals: what sqld cannot do is refused with a message that says
// why, and touches nothing.
func TestRefusals(t *testing.T) {
	srv := sqldtest.Start(t, sqldtest.Options{})
	p := newPlatform(t, srv, false)
	ctx := t.Context()
	if _, err := p.Create(ctx, "src"); err != nil {
		t.Fatal(err)
	}
	_, err := p.Clone(ctx, "src", "past", time.Now().Add(-time.Hour))
	if fleet.ErrorCode(err) != fleet.EINVALID || !strings.Contains(err.Error(), "S3 backups") {
		t.Fatalf("point-in-time clone: %v", err)
	}
	if _, err := p.Get(ctx, "past"); fleet.ErrorCode(err) != fleet.ENOTFOUND {
		t.Fatalf("a refused point-in-time clone left %v", err)
	}
	if p.Caps().Restore || p.Caps().PointInTime {
		t.Fatalf("caps %+v", p.Caps())
	}
	_, err = p.Restore(ctx, "src")
	if fleet.ErrorCode(err) != fleet.EINVALID {
		t.Fatalf("restore without an archive: %v", err)
	}

	// No signing key: the read-only console cannot be made read-only.
	nokey, err := sqld.New(sqld.Options{URL: srv.URL, AdminURL: srv.AdminURL, Catalog: mustCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = nokey.OpenConsole(ctx, "src", false)
	if fleet.ErrorCode(err) != fleet.EUNAVAILABLE || !strings.Contains(err.Error(), "TENANTRY_SQLD_JWT_KEY_FILE") {
		t.Fatalf("read-only console without a key: %v", err)
	}
	// A key, but a sqld that checks no tokens: refused too.
	open := sqldtest.Start(t, sqldtest.Options{NoAuth: true})
	lax, err := sqld.New(sqld.Options{URL: open.URL, AdminURL: open.AdminURL, SigningKey: srv.Key, Catalog: mustCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lax.Create(ctx, "lax"); err != nil {
		t.Fatal(err)
	}
	_, err = lax.OpenConsole(ctx, "lax", false)
	if fleet.ErrorCode(err) != fleet.EUNAVAILABLE || !strings.Contains(err.Error(), "without a token") {
		t.Fatalf("read-only console on a sqld without auth: %v", err)
	}

	// The admin URL pointing elsewhere, or at nothing.
	for _, admin := range []string{srv.URL, "http://127.0.0.1:1"} {
		wrong, err := sqld.New(sqld.Options{URL: srv.URL, AdminURL: admin, Catalog: mustCatalog(t)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = wrong.Create(ctx, "nowhere")
		if fleet.ErrorCode(err) != fleet.EUNAVAILABLE {
			t.Fatalf("create through admin URL %s: %v", admin, err)
		}
	}
	// A wrong admin key.
	keyed := sqldtest.Start(t, sqldtest.Options{AdminKey: "right"})
	badKey, _ := sqld.New(sqld.Options{URL: keyed.URL, AdminURL: keyed.AdminURL, AdminKey: "wrong", Catalog: mustCatalog(t)})
	if _, err := badKey.Create(ctx, "x"); !strings.Contains(fmt.Sprint(err), "TENANTRY_SQLD_ADMIN_KEY") {
		t.Fatalf("wrong admin key: %v", err)
	}
}

func TestUsage(t *testing.T) {
	srv := sqldtest.Start(t, sqldtest.Options{})
	p := newPlatform(t, srv, false)
	ctx := t.Context()
	if _, err := p.Create(ctx, "busy"); err != nil {
		t.Fatal(err)
	}
	db, _ := p.Open(ctx, "busy")
	defer db.Close()
	for _, q := range []string{`CREATE TABLE t(v)`, `INSERT INTO t VALUES (1), (2), (3)`, `SELECT * FROM t`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// sqld counts a statement's rows after it has answered, so the stats
	// catch up a moment later: wait for them rather than read them once.
	var u platform.Usage
	var err error
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		u, err = p.Usage(ctx, "busy")
		if err == nil && u.RowsWritten >= 3 && u.RowsRead >= 3 && len(u.TopQueries) > 0 {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("usage %+v %v", u, err)
		}
	}
	if _, err := p.Usage(ctx, "absent"); fleet.ErrorCode(err) != fleet.ENOTFOUND {
		t.Fatalf("usage of an absent tenant: %v", err)
	}
}

func mustCatalog(t *testing.T) sqld.Catalog {
	t.Helper()
	u, _ := tenantdb.CentralURL(filepath.Join(t.TempDir(), "central.db"))
	db, err := central.Open(context.Background(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.Catalog("sqld")
}

package local_test

import (
	"bytes"
	"database/sql"
	"github.com/tenantry/tenantry/internal/tenantdb"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform/local"
	_ "modernc.org/sqlite"
)

const secret = "argon2id$SECRET-HASH"

var zeroTime time.Time

// attackData makes a data directory whose central.db (WAL mode, held open
// so its WAL stays) has a users table with a password hash, a real tenant,
// and returns the platform and the open central database.
func attackData(t *testing.T) (*local.Platform, string, *sql.DB) {
	t.Helper()
	data := t.TempDir()
	p, err := local.New(data)
	if err != nil {
		t.Fatal(err)
	}
	central, err := sql.Open("sqlite", "file:"+filepath.Join(data, "central.db")+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { central.Close() })
	central.SetMaxOpenConns(1)
	for _, q := range []string{
		`PRAGMA wal_autocheckpoint = 0`,
		`CREATE TABLE users (email TEXT, password_hash TEXT)`,
		`INSERT INTO users VALUES ('admin@example.com', '` + secret + `')`,
	} {
		if _, err := central.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Create(t.Context(), "real"); err != nil {
		t.Fatal(err)
	}
	return p, data, central
}

// attacks plants in <data>/tenants the files the review found followed.
func attacks(t *testing.T, data string) map[string]string {
	t.Helper()
	tenants := filepath.Join(data, "tenants")
	outside := filepath.Join(t.TempDir(), "elsewhere.db")
	if err := os.Link(filepath.Join(tenants, "real.db"), outside); err != nil {
		t.Fatal(err)
	}
	mk := map[string]func(string) error{
		"to-central": func(p string) error { return os.Symlink("../central.db", p) },
		"to-outside": func(p string) error { return os.Symlink(outside, p) },
		"to-tenant":  func(p string) error { return os.Symlink("real.db", p) },
		"fifo":       func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"dir":        func(p string) error { return os.Mkdir(p, 0o700) },
	}
	want := map[string]string{"to-central": "symbolic link", "to-outside": "symbolic link", "to-tenant": "symbolic link",
		"fifo": "FIFO", "dir": "directory"}
	for name, f := range mk {
		if err := f(filepath.Join(tenants, name+".db")); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// refused checks err is a clear refusal naming what the file is.
func refused(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: opened a file that is not a regular tenant file", what)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("%s: central data in the error: %v", what, err)
	}
	if msg := fleet.ErrorMessage(err); !strings.Contains(msg, want) || !strings.Contains(msg, "regular") {
		t.Fatalf("%s: message %q (%v) does not say it is a %s, not a regular file", what, msg, err, want)
	}
}

// TestSymlinkedTenantRefused: a tenant file swapped for a symbolic link
// (to central.db, to a file outside the data directory, to another
// tenant), a FIFO or a directory is refused by every opener of the local
// platform, with a message saying why, and central data is never read.
// None of these files was ever listed: the open path checks by itself.
func TestSymlinkedTenantRefused(t *testing.T) {
	p, data, _ := attackData(t)
	for name, want := range attacks(t, data) {
		ctx := t.Context()
		db, err := p.Open(ctx, name)
		if err == nil {
			var got string
			err = db.QueryRowContext(ctx, `SELECT group_concat(password_hash) FROM users`).Scan(&got)
			db.Close()
		}
		refused(t, name+": Open", err, want)
		_, err = p.OpenConsole(ctx, name, false)
		refused(t, name+": OpenConsole", err, want)
		_, err = p.OpenConsole(ctx, name, true)
		refused(t, name+": OpenConsole write", err, want)
		var buf bytes.Buffer
		err = p.Export(ctx, name, &buf)
		refused(t, name+": Export", err, want)
		if bytes.Contains(buf.Bytes(), []byte(secret)) {
			t.Fatalf("%s: export wrote central data", name)
		}
		_, err = p.Clone(ctx, name, "copy-of-"+name, zeroTime)
		refused(t, name+": Clone", err, want)
		_, err = p.Attachment(name)
		refused(t, name+": Attachment", err, want)
		if st := p.Stamps(ctx, []string{name})[0]; st != (tenantdb.Stamp{}) {
			t.Fatalf("%s: Stamps looked through the link: %+v", name, st)
		}
		refused(t, name+": Probe", p.Probe(ctx, name), want)
		refused(t, name+": Delete", p.Delete(ctx, name), want)
		_, err = p.Get(ctx, name)
		refused(t, name+": Get", err, want)
	}
	// The delete attempts did not touch central.db (still in WAL mode),
	// and no copy was published.
	c, err := sql.Open("sqlite", filepath.Join(data, "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mode string
	if err := c.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("central.db journal mode %q, %v: a delete changed it", mode, err)
	}
	if m, _ := filepath.Glob(filepath.Join(data, "tenants", "copy-of-*")); len(m) != 0 {
		t.Fatalf("clones published: %v", m)
	}
}

// TestSwapAfterOpenRefused: a *sql.DB opened on a good tenant file makes
// each new connection check the file again, so a swap after the first
// open does not hand later connections another database.
func TestSwapAfterOpenRefused(t *testing.T) {
	p, data, _ := attackData(t)
	ctx := t.Context()
	db, err := p.Open(ctx, "real")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxIdleConns(0) // every query makes a new connection
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(data, "tenants", "real.db")
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../central.db", path); err != nil {
		t.Fatal(err)
	}
	var got string
	err = db.QueryRowContext(ctx, `SELECT group_concat(password_hash) FROM users`).Scan(&got)
	refused(t, "new connection after swap", err, "symbolic link")
}

// TestSymlinkedWALRefused: a tenant in WAL mode whose -wal is a link to
// central.db's WAL would read central's pages; the WAL SQLite opened is
// checked too.
func TestSymlinkedWALRefused(t *testing.T) {
	p, data, central := attackData(t)
	ctx := t.Context()
	db, err := p.Open(ctx, "real")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA journal_mode = WAL`); err != nil {
		t.Fatal(err)
	}
	db.Close() // the last connection removes the WAL
	if _, err := central.Exec(`INSERT INTO users VALUES ('b@example.com', '` + secret + `')`); err != nil {
		t.Fatal(err)
	}
	wal := filepath.Join(data, "tenants", "real.db-wal")
	if _, err := os.Lstat(wal); err == nil {
		t.Fatal("the tenant's WAL outlived its last connection")
	}
	if err := os.Symlink("../central.db-wal", wal); err != nil {
		t.Fatal(err)
	}
	db, err = p.Open(ctx, "real")
	if err == nil {
		err = db.PingContext(ctx)
		db.Close()
	}
	refused(t, "Open with a linked WAL", err, "link")
	_, err = p.OpenConsole(ctx, "real", false)
	refused(t, "OpenConsole with a linked WAL", err, "link")
}

// TestSymlinkedTenantsDirRefused: <data>/tenants itself must be a real
// directory: a link there (here to the data directory, where central.db
// would pass for a tenant named "central") is refused.
func TestSymlinkedTenantsDirRefused(t *testing.T) {
	p, data, _ := attackData(t)
	tenants := filepath.Join(data, "tenants")
	if err := os.Rename(tenants, filepath.Join(data, "tenants.real")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".", tenants); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	db, err := p.Open(ctx, "central")
	if err == nil {
		err = db.PingContext(ctx)
		db.Close()
	}
	refused(t, "Open through a linked tenants directory", err, "directory")
	_, err = p.OpenConsole(ctx, "central", false)
	refused(t, "OpenConsole through a linked tenants directory", err, "directory")
	err = p.Export(ctx, "central", &bytes.Buffer{})
	refused(t, "Export through a linked tenants directory", err, "directory")
}

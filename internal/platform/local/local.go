// Package local keeps tenant databases as SQLite files under a data
// directory: <data>/tenants/<name>.db live, <data>/archive/ deleted (and
// restorable), <data>/tmp/ for copies being made.
package local

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
	"modernc.org/sqlite"
)

// Platform is the local file platform.
type Platform struct {
	dir string // the data directory
	// Settle is how long after its last write a tenant's fingerprint is
	// trusted: file times are coarse (a clock tick, or worse on some file
	// systems), so two writes close together may leave the same time and
	// size. A tenant written to within Settle has no fingerprint, and is
	// collected again next time.
	Settle time.Duration
}

// New returns the local platform over a data directory, creating its
// sub-directories.
func New(dataDir string) (*Platform, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	p := &Platform{dir: abs, Settle: 2 * time.Second}
	for _, d := range []string{p.tenantsDir(), p.archiveDir(), p.tmpDir()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	return p, nil
}

var _ platform.Platform = (*Platform)(nil)

// Name implements platform.Platform.
func (p *Platform) Name() string { return "local" }

const noPointInTime = "Point-in-time branching is not available on the local platform: it keeps no history of past writes. Branch without a timestamp, or use the turso platform."

// Caps implements platform.Platform.
func (p *Platform) Caps() platform.Caps {
	return platform.Caps{Restore: true, NoPointInTime: noPointInTime}
}

func (p *Platform) tenantsDir() string { return filepath.Join(p.dir, "tenants") }
func (p *Platform) archiveDir() string { return filepath.Join(p.dir, "archive") }
func (p *Platform) tmpDir() string     { return filepath.Join(p.dir, "tmp") }

// path returns a tenant's file, refusing any name that is not a valid
// tenant name, so that no path outside the data directory can be formed.
func (p *Platform) path(name string) (string, error) {
	if err := fleet.ValidateName(name); err != nil {
		return "", err
	}
	return filepath.Join(p.tenantsDir(), name+".db"), nil
}

// file returns a tenant's file as a tenantdb.TenantFile: every open of it
// is checked to be the regular file in the tenants directory, never what a
// symbolic link points to (see tenantdb/confine.go).
func (p *Platform) file(name string) (tenantdb.TenantFile, error) {
	if err := fleet.ValidateName(name); err != nil {
		return tenantdb.TenantFile{}, err
	}
	return tenantdb.TenantFile{Dir: p.tenantsDir(), Name: name + ".db"}, nil
}

func (p *Platform) url(path string) string {
	u, _ := tenantdb.FileURL(path, false)
	return u
}

// describe stats a tenant file. The size includes the WAL, and the last
// write is the newer of the two files' times. Anything but a regular file
// (a symbolic link, a FIFO, a directory) is refused, as every open does.
func (p *Platform) describe(name, path string) (platform.Database, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return platform.Database{}, fleet.Errorf(fleet.ENOTFOUND, "Tenant %q not found.", name)
	} else if err != nil {
		return platform.Database{}, err
	}
	if !fi.Mode().IsRegular() {
		f := tenantdb.TenantFile{Dir: p.tenantsDir(), Name: name + ".db"}
		_, err := f.Identify()
		if err == nil { // replaced by a regular file since the Lstat
			err = fleet.Errorf(fleet.ECONFLICT, "%s changed while it was being read; try again.", path)
		}
		return platform.Database{}, err
	}
	d := platform.Database{Name: name, ID: path, URL: "file:" + path, SizeBytes: fi.Size(), ModifiedAt: fi.ModTime().UTC()}
	if wi, err := os.Stat(path + "-wal"); err == nil {
		d.SizeBytes += wi.Size()
		if wi.ModTime().After(d.ModifiedAt) {
			d.ModifiedAt = wi.ModTime().UTC()
		}
	}
	return d, nil
}

// Get implements platform.Platform.
func (p *Platform) Get(ctx context.Context, name string) (platform.Database, error) {
	path, err := p.path(name)
	if err != nil {
		return platform.Database{}, err
	}
	return p.describe(name, path)
}

// List implements platform.Platform: every <name>.db with a valid tenant
// name, from one directory read and one stat per file, cheap enough to run
// every few seconds over a large fleet. Whether a file really is a SQLite
// database is Probe's question, asked once, before a file is adopted.
func (p *Platform) List(ctx context.Context) ([]platform.Database, error) {
	root, err := os.OpenRoot(p.tenantsDir())
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer root.Close()
	dir, err := root.Open(".")
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	entries, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	wal := make(map[string]bool)
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e, ".db-wal"); ok {
			wal[name] = true
		} else if name, ok := strings.CutSuffix(e, ".db"); ok && fleet.ValidateName(name) == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	found := make([]platform.Database, len(names))
	ok := make([]bool, len(names))
	lstat := rootLstat(root)
	parallel(len(names), func(i int) {
		name := names[i]
		st, err := stat(lstat, name, wal[name])
		if err != nil {
			return // vanished while listing, or not a file
		}
		path := filepath.Join(p.tenantsDir(), name+".db")
		found[i], ok[i] = platform.Database{Name: name, ID: path, URL: "file:" + path, SizeBytes: st.Size, ModifiedAt: st.ModTime.UTC()}, true
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]platform.Database, 0, len(found))
	for i, d := range found {
		if ok[i] {
			out = append(out, d)
		}
	}
	return out, nil
}

// stat returns the size of a tenant's files (the database and its WAL)
// and the time of the last write to either, with one lstat per file
// relative to the open tenants directory (lstat refuses anything but a
// regular file), and the database file's identity. hasWAL false skips
// the WAL.
func stat(lstat func(name string) (tenantdb.FileStat, error), name string, hasWAL bool) (tenantdb.FileStat, error) {
	db, err := lstat(name + ".db")
	if err != nil {
		return tenantdb.FileStat{}, err
	}
	if hasWAL {
		if wal, err := lstat(name + ".db-wal"); err == nil {
			db.Size += wal.Size
			if wal.ModTime.After(db.ModTime) {
				db.ModTime = wal.ModTime
			}
		}
	}
	return db, nil
}

// rootLstat is stat's lstat through an os.Root.
func rootLstat(root *os.Root) func(string) (tenantdb.FileStat, error) {
	return func(name string) (tenantdb.FileStat, error) {
		fi, err := root.Lstat(name)
		if err != nil {
			return tenantdb.FileStat{}, err
		}
		if !fi.Mode().IsRegular() {
			return tenantdb.FileStat{}, fmt.Errorf("%s is not a regular file", name)
		}
		return tenantdb.FileStat{Size: fi.Size(), ModTime: fi.ModTime()}, nil
	}
}

// parallel runs f(0..n-1) spread over the cores: a stat is the whole cost
// of a scan.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for part := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := part; i < n; i += workers {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Stamps looks at each named tenant's files once, through the tenants
// directory held open, never following a symbolic link: its fingerprint
// (see Fingerprints) and its database file's identity.
func (p *Platform) Stamps(ctx context.Context, names []string) []tenantdb.Stamp {
	out := make([]tenantdb.Stamp, len(names))
	settled := time.Now().Add(-p.Settle)
	dir, err := tenantdb.OpenDir(p.tenantsDir())
	if err != nil {
		return out
	}
	defer dir.Close()
	parallel(len(names), func(i int) {
		if ctx.Err() != nil || fleet.ValidateName(names[i]) != nil {
			return
		}
		st, err := stat(dir.Lstat, names[i], true)
		if err != nil {
			return
		}
		out[i].ID = st.ID
		if st.ModTime.Before(settled) {
			out[i].Fingerprint = strconv.FormatInt(st.Size, 10) + "@" + strconv.FormatInt(st.ModTime.UnixNano(), 10)
		}
	})
	return out
}

// Fingerprints returns, for each named tenant, a text that changes
// whenever its files are written to (size and last write time), read
// from the file system at the moment of asking; "" for a tenant whose
// files cannot be read or were written to within Settle. The collector
// compares it with the one it saved when it last collected the tenant, to
// skip unchanged tenants.
func (p *Platform) Fingerprints(ctx context.Context, names []string) []string {
	out := make([]string, len(names))
	for i, s := range p.Stamps(ctx, names) {
		out[i] = s.Fingerprint
	}
	return out
}

// Probe reports whether a listed file is a SQLite database (an empty file
// is an empty database too).
func (p *Platform) Probe(ctx context.Context, name string) error {
	f, err := p.file(name)
	if err != nil {
		return err
	}
	// Opened without following a link or blocking on a FIFO: the file
	// listed may have been swapped since.
	fh, _, err := f.OpenRegular()
	if err != nil {
		return err
	}
	defer fh.Close()
	if !tenantdb.HasSQLiteHeader(fh) {
		return fleet.Errorf(fleet.EINVALID, "%s is not a SQLite database.", f.Path())
	}
	return nil
}

// Attachment returns how to open the tenant's file read-only, and the
// file it must turn out to be: the caller checks the file SQLite opened
// (tenantdb.Attachment.OpenReadOnly) before reading it.
func (p *Platform) Attachment(name string) (tenantdb.Attachment, error) {
	return p.AttachmentOf(name, tenantdb.FileID{})
}

// AttachmentOf is Attachment for a file already identified (by Stamps),
// which saves looking at it again; a zero id looks now.
func (p *Platform) AttachmentOf(name string, id tenantdb.FileID) (tenantdb.Attachment, error) {
	f, err := p.file(name)
	if err != nil {
		return tenantdb.Attachment{}, err
	}
	if id == (tenantdb.FileID{}) {
		if id, err = f.Identify(); err != nil {
			return tenantdb.Attachment{}, err
		}
	}
	uri := "file:" + (&url.URL{Path: f.Path()}).EscapedPath() + "?mode=ro"
	return tenantdb.Attachment{URI: uri, File: f, ID: id}, nil
}

// Create implements platform.Platform: an empty database in SQLite's
// default rollback-journal mode; the tenant's application may switch it to
// WAL, and every operation here works in either mode.
func (p *Platform) Create(ctx context.Context, name string) (platform.Database, error) {
	path, err := p.path(name)
	if err != nil {
		return platform.Database{}, err
	}
	// O_EXCL makes the existence check and the creation one step.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if errors.Is(err, fs.ErrExist) {
		return platform.Database{}, fleet.Errorf(fleet.ECONFLICT, "Tenant %q already exists.", name)
	} else if err != nil {
		return platform.Database{}, fmt.Errorf("create tenant file: %w", err)
	}
	if err := f.Close(); err != nil {
		return platform.Database{}, err
	}
	db, err := p.Open(ctx, name)
	if err != nil {
		return platform.Database{}, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `PRAGMA user_version = 0`); err != nil {
		return platform.Database{}, fmt.Errorf("initialise %s: %w", name, err)
	}
	return p.describe(name, path)
}

// Open implements platform.Platform.
func (p *Platform) Open(ctx context.Context, name string) (*sql.DB, error) {
	f, err := p.file(name)
	if err != nil {
		return nil, err
	}
	return f.Open()
}

// OpenConsole opens the tenant's file for the SQL console (see
// tenantdb.OpenConsoleFile for what the connection refuses).
func (p *Platform) OpenConsole(ctx context.Context, name string, write bool) (platform.ConsoleConn, error) {
	f, err := p.file(name)
	if err != nil {
		return nil, err
	}
	want, err := f.Identify()
	if err != nil {
		return nil, err
	}
	c, err := tenantdb.OpenConsoleFile(ctx, f.Path(), write)
	if err != nil {
		return nil, err
	}
	// The console's connection is one pinned connection: checking it once,
	// before it runs anything, checks everything it will read.
	if err := f.VerifyWAL(ctx, c.Conn, want); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// tmpFile returns a fresh path in the tmp directory.
func (p *Platform) tmpFile(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return filepath.Join(p.tmpDir(), prefix+"."+hex.EncodeToString(b)+".db")
}

// backup writes a consistent copy of the tenant at srcPath to dstPath with
// SQLite's online backup API, copying every page in one step under one read
// transaction, so concurrent writers neither block it nor tear it.
func backup(ctx context.Context, src tenantdb.TenantFile, dstPath string, pragmas ...string) error {
	db, err := src.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, q := range pragmas {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return conn.Raw(func(dc any) error {
		src, ok := dc.(interface {
			NewBackup(string) (*sqlite.Backup, error)
		})
		if !ok {
			return fmt.Errorf("driver connection %T has no backup API", dc)
		}
		bk, err := src.NewBackup(dstPath)
		if err != nil {
			return err
		}
		if _, err := bk.Step(-1); err != nil {
			_ = bk.Finish()
			return err
		}
		return bk.Finish()
	})
}

// publish moves a finished file from tmp into place without ever replacing
// an existing tenant: a hard link fails if the name exists.
func publish(tmp, final, name string) error {
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Link(tmp, final); errors.Is(err, fs.ErrExist) {
		return fleet.Errorf(fleet.ECONFLICT, "Tenant %q already exists.", name)
	} else if err != nil {
		return fmt.Errorf("publish %s: %w", name, err)
	}
	_ = os.Remove(tmp)
	return syncDir(filepath.Dir(final))
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeDB removes a database file and its WAL and shared-memory files.
func removeDB(path string) {
	for _, s := range []string{"", "-wal", "-shm", "-journal"} {
		_ = os.Remove(path + s)
	}
}

// Clone implements platform.Platform. The local platform keeps no history,
// so a point-in-time clone is refused.
func (p *Platform) Clone(ctx context.Context, src, dst string, at time.Time) (platform.Database, error) {
	srcFile, err := p.file(src)
	if err != nil {
		return platform.Database{}, err
	}
	srcPath := srcFile.Path()
	dstPath, err := p.path(dst)
	if err != nil {
		return platform.Database{}, err
	}
	if !at.IsZero() {
		return platform.Database{}, fleet.Errorf(fleet.EINVALID, "%s", noPointInTime)
	}
	if _, err := p.describe(src, srcPath); err != nil {
		return platform.Database{}, err
	}
	if _, err := os.Stat(dstPath); err == nil {
		return platform.Database{}, fleet.Errorf(fleet.ECONFLICT, "Tenant %q already exists.", dst)
	}
	tmp := p.tmpFile(dst)
	defer removeDB(tmp)
	if err := backup(ctx, srcFile, tmp); err != nil {
		return platform.Database{}, fmt.Errorf("copy %s: %w", src, err)
	}
	if err := publish(tmp, dstPath, dst); err != nil {
		return platform.Database{}, err
	}
	return p.describe(dst, dstPath)
}

const archiveStamp = "20060102T150405.000000000Z"

// archiveName is "<name>.<UTC time>.db"; the time sorts lexically.
func (p *Platform) archiveName(name string, at time.Time) string {
	return filepath.Join(p.archiveDir(), name+"."+at.UTC().Format(archiveStamp)+".db")
}

// archived returns the archive files of a tenant, newest last.
func (p *Platform) archived(name string) ([]string, error) {
	entries, err := os.ReadDir(p.archiveDir())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		// "a.<stamp>.db" must not match tenant "a-b": the stamp must parse.
		rest, ok := strings.CutPrefix(e.Name(), name+".")
		stamp, ok2 := strings.CutSuffix(rest, ".db")
		if _, err := time.Parse(archiveStamp, stamp); ok && ok2 && err == nil {
			out = append(out, filepath.Join(p.archiveDir(), e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Delete implements platform.Platform: the database is checkpointed into a
// single self-contained file (no WAL) and moved to the archive.
func (p *Platform) Delete(ctx context.Context, name string) error {
	path, err := p.path(name)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return fleet.Errorf(fleet.ENOTFOUND, "Tenant %q not found.", name)
	}
	if err := p.checkpoint(ctx, name); err != nil {
		return fmt.Errorf("prepare %s for the archive: %w", name, err)
	}
	dst := p.archiveName(name, time.Now())
	if err := os.Rename(path, dst); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	removeDB(path) // a -shm left by the checkpoint
	tenantdb.Forget(p.url(path))
	return syncDir(p.tenantsDir())
}

// checkpoint folds the WAL into the database and leaves WAL mode, so that
// the file alone holds every committed write.
func (p *Platform) checkpoint(ctx context.Context, name string) error {
	f, err := p.file(name)
	if err != nil {
		return err
	}
	db, err := f.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode = DELETE`).Scan(&mode); err != nil {
		return err
	}
	if mode != "delete" {
		return fleet.Errorf(fleet.EUNAVAILABLE, "The database is in use by another process; try again when it is idle.")
	}
	return nil
}

// Restore implements platform.Platform.
func (p *Platform) Restore(ctx context.Context, name string) (platform.Database, error) {
	path, err := p.path(name)
	if err != nil {
		return platform.Database{}, err
	}
	files, err := p.archived(name)
	if err != nil {
		return platform.Database{}, err
	}
	if len(files) == 0 {
		return platform.Database{}, fleet.Errorf(fleet.ENOTFOUND, "No archived copy of tenant %q to restore.", name)
	}
	newest := files[len(files)-1]
	if err := os.Link(newest, path); errors.Is(err, fs.ErrExist) {
		return platform.Database{}, fleet.Errorf(fleet.ECONFLICT, "Tenant %q already exists; it cannot be restored over.", name)
	} else if err != nil {
		return platform.Database{}, fmt.Errorf("restore %s: %w", name, err)
	}
	_ = os.Remove(newest)
	if err := syncDir(p.tenantsDir()); err != nil {
		return platform.Database{}, err
	}
	return p.describe(name, path)
}

// Archived lists when each archived copy of a tenant was made, oldest first.
func (p *Platform) Archived(name string) ([]time.Time, error) {
	files, err := p.archived(name)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for _, f := range files {
		stamp := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), name+"."), ".db")
		if t, err := time.Parse(archiveStamp, stamp); err == nil {
			out = append(out, t)
		}
	}
	return out, nil
}

// Import implements platform.Platform. The bytes are staged in tmp,
// checked to be an intact SQLite database, and only then published.
func (p *Platform) Import(ctx context.Context, name string, src io.Reader) (platform.Database, error) {
	path, err := p.path(name)
	if err != nil {
		return platform.Database{}, err
	}
	if _, err := os.Stat(path); err == nil {
		return platform.Database{}, fleet.Errorf(fleet.ECONFLICT, "Tenant %q already exists.", name)
	}
	tmp := p.tmpFile(name)
	defer removeDB(tmp)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return platform.Database{}, err
	}
	_, err = io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return platform.Database{}, fmt.Errorf("stage import of %s: %w", name, err)
	}
	if err := tenantdb.CheckFile(ctx, tmp); err != nil {
		return platform.Database{}, err
	}
	if err := publish(tmp, path, name); err != nil {
		return platform.Database{}, err
	}
	return p.describe(name, path)
}

// Export implements platform.Platform: an online backup into tmp, streamed
// to w.
func (p *Platform) Export(ctx context.Context, name string, w io.Writer) error {
	path, err := p.path(name)
	if err != nil {
		return err
	}
	if _, err := p.describe(name, path); err != nil {
		return err
	}
	tmp := p.tmpFile(name + ".export")
	defer removeDB(tmp)
	if err := backup(ctx, tenantdb.TenantFile{Dir: p.tenantsDir(), Name: name + ".db"}, tmp); err != nil {
		return fmt.Errorf("export %s: %w", name, err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// Discard implements platform.Platform.
func (p *Platform) Discard(ctx context.Context, name string) error {
	path, err := p.path(name)
	if err != nil {
		return err
	}
	tenantdb.Forget(p.url(path))
	removeDB(path)
	return nil
}

// CleanTmp removes staging files older than age left by crashed copies.
func (p *Platform) CleanTmp(age time.Duration) {
	entries, _ := os.ReadDir(p.tmpDir())
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > age {
			_ = os.Remove(filepath.Join(p.tmpDir(), e.Name()))
		}
	}
}

// Credentials implements platform.Platform: the tenant file's absolute
// file: URL, read-only with SQLite's mode=ro. A file has no token and
// nothing expires; whoever can read the file can read the tenant, so the
// scope is the file system's. The TTL is checked all the same, so that a
// request valid here is valid on every platform.
func (p *Platform) Credentials(ctx context.Context, name string, r platform.CredentialRequest) (platform.Credential, error) {
	path, err := p.path(name)
	if err != nil {
		return platform.Credential{}, err
	}
	if err := r.Check(); err != nil {
		return platform.Credential{}, err
	}
	if _, err := p.describe(name, path); err != nil {
		return platform.Credential{}, err
	}
	u := "file:" + (&url.URL{Path: path}).EscapedPath()
	if r.ReadOnly {
		u += "?mode=ro"
	}
	return platform.Credential{URL: u}, nil
}

// Package snapshot backs up tenant databases: a consistent copy of each
// (take.go), checked, compressed with zstd and checksummed, kept in a
// Store under a key of its own; the bytes brought back into a file with
// the checksum checked (restore.go); a restore drill (verify.go); and the
// retention policy that says which snapshots to keep (policy.go).
//
// It records nothing: a snapshot's file is whole and durable in the store
// before Take returns it, and only then does the caller record it in the
// central database, so that a crash at any moment leaves no recorded
// snapshot without its bytes; what it can leave is a file no record
// names, which Sweep removes once it is an hour old.
package snapshot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Store keeps snapshot files, each under a key made by NewKey. The
// snapshot directory (Dir) is one; S3-compatible object storage can be
// another.
type Store interface {
	// Put stores r's bytes under key, all or nothing and durably: when it
	// returns nil the whole file is stored and survives a crash, and when
	// it fails nothing is stored under key. It returns the bytes stored.
	// A full disk is EUNAVAILABLE, and says so.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open reads the file under key; ENOTFOUND if there is none.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Remove deletes the file under key; no file there is not an error.
	Remove(ctx context.Context, key string) error
	// Walk calls fn with each stored file, in key order, and stops at
	// fn's first error, which it returns. Anything in the store that is
	// not a snapshot file is left out.
	Walk(ctx context.Context, fn func(Object) error) error
	// Clean removes what writes left unfinished (a crash's leftovers)
	// that started before the given time, and returns how many it removed.
	Clean(ctx context.Context, before time.Time) (int, error)
	// Usage is how many files the store holds and their bytes.
	Usage(ctx context.Context) (Usage, error)
}

// Object is a stored file.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time // when it was stored
}

// Usage is what a store holds.
type Usage struct {
	Files int64
	Bytes int64
	// Free is the space left for more, in bytes; -1 if the store cannot
	// tell (object storage).
	Free int64
}

// Key names: "<tenant>/<UTC time>-<random>.db.zst". The time sorts
// lexically; the random part keeps two snapshots of the same instant
// apart.
const keyStamp = "20060102T150405.000000000Z"

var keyFileRE = regexp.MustCompile(`^([0-9]{8}T[0-9]{6}\.[0-9]{9}Z)-[0-9a-f]{8}\.db\.zst$`)

// NewKey returns a fresh key for a snapshot of tenant taken at at.
func NewKey(tenant string, at time.Time) string {
	return tenant + "/" + at.UTC().Format(keyStamp) + "-" + randomHex(4) + ".db.zst"
}

// ParseKey returns the tenant and time a key was made for, or EINVALID
// if key is not one NewKey makes. Stores check every key they are given
// with it: keys become paths, and only these can.
func ParseKey(key string) (tenant string, at time.Time, err error) {
	tenant, file, ok := strings.Cut(key, "/")
	m := keyFileRE.FindStringSubmatch(file)
	if !ok || m == nil || fleet.ValidateName(tenant) != nil {
		return "", time.Time{}, fleet.Errorf(fleet.EINVALID, "%q is not a snapshot key.", fleet.Truncate(key, 120))
	}
	at, err = time.Parse(keyStamp, m[1])
	if err != nil {
		return "", time.Time{}, fleet.Errorf(fleet.EINVALID, "%q is not a snapshot key.", fleet.Truncate(key, 120))
	}
	return tenant, at, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Dir is a Store in a directory of the file system (--snapshot-dir; a
// mounted volume, perhaps): <dir>/<tenant>/<file>, with unfinished files
// beside them (<dir>/<tenant>/.put-*) and work files in <dir>/.tmp. Every path is opened through an os.Root, so nothing it
// does reaches outside the directory, even through a symbolic link.
type Dir struct {
	path string
	root *os.Root
}

var _ Store = (*Dir)(nil)

const tmpDir = ".tmp"

// putPrefix starts the name of a file being put, in its tenant's
// directory: a file made there costs a fifth of one made in .tmp (ext4
// finds an inode for it near its directory's, not in .tmp's ever fuller
// group), and the rename stays in one directory.
const putPrefix = ".put-"

// OpenDir opens the snapshot directory at path, making it if need be, and
// checks that a file can be written and synced there: a directory that
// is not writable is refused at start with a message that says so, not
// found out at the first snapshot.
func OpenDir(path string) (*Dir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(abs, tmpDir), 0o750); err != nil {
		return nil, notWritable(abs, err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, notWritable(abs, err)
	}
	d := &Dir{path: abs, root: root}
	if err := d.probe(); err != nil {
		root.Close()
		return nil, notWritable(abs, err)
	}
	return d, nil
}

// probe writes, syncs and removes a small file.
func (d *Dir) probe() error {
	name := tmpDir + "/probe-" + randomHex(8)
	f, err := d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	defer d.root.Remove(name)
	_, err = f.Write([]byte("tenantry"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func notWritable(path string, err error) error {
	return fleet.Wrap(fleet.EUNAVAILABLE, err, "The snapshot directory %s is not writable: %s.", path, cause(err))
}

// cause is the system's word for what went wrong (read-only file
// system, permission denied, no space left on device), without the
// operation and path a PathError repeats.
func cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}

// Path is the directory's absolute path.
func (d *Dir) Path() string { return d.path }

// TempDir is where work files belong that must be on the same volume
// (Take's copies): Clean removes those a crash left.
func (d *Dir) TempDir() string { return filepath.Join(d.path, tmpDir) }

// Close lets go of the directory.
func (d *Dir) Close() error { return d.root.Close() }

// Put implements Store: the bytes go to a new file beside the key's,
// which is synced, renamed into place, and its directory synced.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	n, newDir, err := d.putUnsynced(ctx, key, r)
	if err != nil {
		return 0, err
	}
	if err := d.syncNames([]string{key}, newDir)[0]; err != nil {
		return 0, err
	}
	return n, nil
}

// syncNames makes the names of files put under keys durable: it syncs
// each key's tenant directory, then, if newDir, the store's own (which
// holds the tenant directories). A key whose name could not be made
// durable is removed, and its error says why; the others' are nil. One
// directory sync commits what the file system's journal holds, so that on
// most file systems the later ones of a batch cost little.
func (d *Dir) syncNames(keys []string, newDir bool) []error {
	errs := make([]error, len(keys))
	var rootErr error
	if newDir {
		// First, so that a tenant directory's own sync finds its entry
		// committed already, and a failure fails every key.
		rootErr = d.syncDir(".")
	}
	synced := map[string]error{}
	for i, key := range keys {
		tenant, _, _ := strings.Cut(key, "/")
		err, ok := synced[tenant]
		if !ok {
			err = d.syncDir(tenant)
			synced[tenant] = err
		}
		if err == nil {
			err = rootErr
		}
		if err != nil {
			_ = d.root.Remove(key) // not known to be durable: not stored
			errs[i] = d.writeError(key, err)
		}
	}
	return errs
}

// putUnsynced is Put without the directory syncs that make the file's
// name durable (syncNames): r's bytes go to a new file beside the key's,
// which is synced and renamed to key. It reports whether it made key's tenant
// directory. TakeAll uses it to sync a batch's names at once, off its
// workers; until then the file is not stored.
func (d *Dir) putUnsynced(ctx context.Context, key string, r io.Reader) (n int64, newDir bool, err error) {
	tenant, _, err := ParseKey(key)
	if err != nil {
		return 0, false, err
	}
	if _, err := d.root.Lstat(key); err == nil {
		return 0, false, fleet.Errorf(fleet.ECONFLICT, "The snapshot %s already exists.", key)
	}
	if err := d.root.Mkdir(tenant, 0o750); err == nil {
		newDir = true
	} else if !errors.Is(err, fs.ErrExist) {
		return 0, false, d.writeError(key, err)
	}
	tmp := tenant + "/" + putPrefix + randomHex(8)
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return 0, false, d.writeError(key, err)
	}
	stored := false
	defer func() {
		if !stored {
			_ = d.root.Remove(tmp)
		}
	}()
	n, err = io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, false, d.writeError(key, err)
	}
	if err := d.root.Rename(tmp, key); err != nil {
		return 0, false, d.writeError(key, err)
	}
	stored = true
	return n, newDir, nil
}

// writeError says what a failed write means for people: a full disk is
// the one they can act on.
func (d *Dir) writeError(key string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if diskFull(err) {
		return fleet.Wrap(fleet.EUNAVAILABLE, err, "Disk full: the snapshot directory %s has no room for %s (%s); nothing was kept.", d.path, key, cause(err))
	}
	var fe *fleet.Error
	if errors.As(err, &fe) {
		return err
	}
	return fleet.Wrap(fleet.EUNAVAILABLE, err, "Writing %s to the snapshot directory %s failed: %s.", key, d.path, cause(err))
}

// diskFull reports whether err is the file system's (or SQLite's) "no
// space left".
func diskFull(err error) bool {
	var se *sqlite.Error
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
}

// dirSynced, if set, is told of every directory synced (a test's hook).
var dirSynced func(name string)

func (d *Dir) syncDir(name string) error {
	if dirSynced != nil {
		dirSynced(name)
	}
	f, err := d.root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Open implements Store.
func (d *Dir) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if _, _, err := ParseKey(key); err != nil {
		return nil, err
	}
	f, err := d.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fleet.Wrap(fleet.ENOTFOUND, err, "The snapshot file %s is missing from %s.", key, d.path)
	} else if err != nil {
		return nil, fleet.Wrap(fleet.EUNAVAILABLE, err, "Cannot read the snapshot %s in %s: %s.", key, d.path, cause(err))
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fleet.Errorf(fleet.EINVALID, "The snapshot %s in %s is not a regular file.", key, d.path)
	}
	return f, nil
}

// Remove implements Store.
func (d *Dir) Remove(ctx context.Context, key string) error {
	if _, _, err := ParseKey(key); err != nil {
		return err
	}
	if err := d.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fleet.Wrap(fleet.EUNAVAILABLE, err, "Cannot remove the snapshot %s from %s: %s.", key, d.path, cause(err))
	}
	return nil
}

// Walk implements Store: one directory per tenant, one at a time, so
// that a fleet's worth of files is never held at once.
func (d *Dir) Walk(ctx context.Context, fn func(Object) error) error {
	tenants, err := d.names(".")
	if err != nil {
		return err
	}
	for _, tenant := range tenants {
		if fleet.ValidateName(tenant) != nil {
			continue // .tmp, lost+found, anything not ours
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		files, err := d.names(tenant)
		if err != nil {
			continue // not a directory, gone since, or a link out of the store
		}
		for _, file := range files {
			key := tenant + "/" + file
			if !keyFileRE.MatchString(file) {
				continue
			}
			fi, err := d.root.Lstat(key)
			if err != nil || !fi.Mode().IsRegular() {
				continue // removed since, or not a file of ours
			}
			if err := fn(Object{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// names returns the sorted names in a directory of the root.
func (d *Dir) names(dir string) ([]string, error) {
	f, err := d.root.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// Clean implements Store: unfinished snapshot files (.put-* in the
// tenants' directories) and the files in .tmp (Take's work files, and
// unfinished files of earlier versions) last changed before before.
func (d *Dir) Clean(ctx context.Context, before time.Time) (int, error) {
	removed := 0
	clean := func(dir string, match func(name string) bool) error {
		names, err := d.names(dir)
		if err != nil {
			return err
		}
		for _, name := range names {
			if !match(name) {
				continue
			}
			fi, err := d.root.Lstat(dir + "/" + name)
			if err != nil || !fi.ModTime().Before(before) || fi.IsDir() {
				continue
			}
			if err := d.root.Remove(dir + "/" + name); err == nil {
				removed++
			}
		}
		return nil
	}
	if err := clean(tmpDir, func(string) bool { return true }); err != nil {
		return 0, err
	}
	tenants, err := d.names(".")
	if err != nil {
		return removed, err
	}
	for _, tenant := range tenants {
		if fleet.ValidateName(tenant) != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		// An error: not a directory, gone since, or a link out of the store.
		_ = clean(tenant, func(name string) bool { return strings.HasPrefix(name, putPrefix) })
	}
	return removed, nil
}

// Usage implements Store.
func (d *Dir) Usage(ctx context.Context) (Usage, error) {
	u := Usage{Free: -1}
	err := d.Walk(ctx, func(o Object) error {
		u.Files++
		u.Bytes += o.Size
		return nil
	})
	var st syscall.Statfs_t
	if syscall.Statfs(d.path, &st) == nil {
		u.Free = int64(st.Bavail) * int64(st.Bsize)
	}
	return u, err
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// SweepAge is how old an unfinished or unrecorded file must be before
// Sweep removes it: younger, it may be a snapshot being taken, or taken
// and about to be recorded.
const SweepAge = time.Hour

// Swept is what a sweep removed.
type Swept struct {
	Unfinished int   `json:"unfinished"` // files of writes never finished
	Orphans    int   `json:"orphans"`    // whole files no record names
	Bytes      int64 `json:"bytes"`      // the orphans' bytes
}

// sweepBatch is how many keys Sweep asks about at once.
const sweepBatch = 500

// Sweep removes what a crash can leave in a store, once it is older than
// SweepAge: unfinished writes, and files no record names. recorded says,
// for a batch of keys (at most 500), which the central database records
// (the answer in the same order); a key it cannot answer for is kept.
func Sweep(ctx context.Context, s Store, now time.Time, recorded func(ctx context.Context, keys []string) ([]bool, error)) (Swept, error) {
	var sw Swept
	var err error
	if sw.Unfinished, err = s.Clean(ctx, now.Add(-SweepAge)); err != nil {
		return sw, err
	}
	batch := make([]Object, 0, sweepBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		keys := make([]string, len(batch))
		for i, o := range batch {
			keys[i] = o.Key
		}
		known, err := recorded(ctx, keys)
		if err != nil {
			return err
		}
		if len(known) != len(keys) {
			return fmt.Errorf("sweep: %d answers for %d keys", len(known), len(keys))
		}
		for i, o := range batch {
			if known[i] {
				continue
			}
			if err := s.Remove(ctx, o.Key); err != nil {
				return err
			}
			sw.Orphans++
			sw.Bytes += o.Size
		}
		batch = batch[:0]
		return nil
	}
	err = s.Walk(ctx, func(o Object) error {
		if !o.ModTime.Before(now.Add(-SweepAge)) {
			return nil
		}
		batch = append(batch, o)
		if len(batch) == sweepBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return sw, err
}

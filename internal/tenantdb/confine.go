package tenantdb

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"time"
	"unsafe"

	"github.com/tenantry/tenantry/internal/fleet"
	"golang.org/x/sys/unix"
	"modernc.org/libc"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// A tenant's file must be a regular file directly inside its directory,
// and that must hold for the file SQLite actually has open, not only for
// a path looked at a moment before: a file swapped for a symbolic link
// between a check and an open would otherwise hand another database (the
// central one, with its users and password hashes) to whoever reads the
// tenant.
//
// The driver does not offer SQLITE_OPEN_NOFOLLOW (it opens every
// connection with fixed flags), and that flag would not close the race
// anyway: SQLite resolves the path with lstat and opens it afterwards. So
// every connection is checked after SQLite opened it:
//
//  1. the name is looked up without following any symbolic link inside
//     the data directory (the tenants directory is opened O_NOFOLLOW, the
//     file O_NOFOLLOW|O_NONBLOCK, so a FIFO cannot block), and it must be
//     a regular file: that gives its identity (device and inode);
//  2. SQLite opens the path;
//  3. the descriptor SQLite holds for the database (and for its WAL, when
//     the database is in WAL mode) is fstat'ed, and must be that same
//     file; otherwise the connection is closed before any query runs.
//
// Whatever happens to the path between 1 and 2, the connection is kept
// only if it reads the very file that was a regular file in the tenants
// directory, so there is no window in which another file can be read.

// FileID identifies an open file: its device and inode.
type FileID struct{ Dev, Ino uint64 }

func idOf(st *syscall.Stat_t) FileID { return FileID{Dev: uint64(st.Dev), Ino: st.Ino} }

// TenantFile is a tenant database file: Name directly inside Dir.
type TenantFile struct {
	Dir  string // the tenants directory; it must not be a symbolic link
	Name string // the file's name in Dir, e.g. "store-1.db"
}

// Path returns the file's path.
func (f TenantFile) Path() string { return filepath.Join(f.Dir, f.Name) }

// OpenRegular opens the file for reading without following a symbolic
// link in its directory or its name and without blocking on a FIFO, and
// refuses anything but a regular file. A file that does not exist is
// fs.ErrNotExist wrapped in a not-found error.
func (f TenantFile) OpenRegular() (*os.File, FileID, error) {
	dfd, err := syscall.Open(f.Dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, FileID{}, f.refuse(f.Dir, err)
	}
	defer syscall.Close(dfd)
	fd, err := syscall.Openat(dfd, f.Name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, FileID{}, f.refuse(f.Path(), err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, FileID{}, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return nil, FileID{}, fleet.Errorf(fleet.EINVALID, "%s is %s, not a regular file: Tenantry opens only regular database files in %s.", f.Path(), kind(st.Mode), f.Dir)
	}
	return os.NewFile(uintptr(fd), f.Path()), idOf(&st), nil
}

// Identify returns the identity of the regular file (see OpenRegular).
func (f TenantFile) Identify() (FileID, error) {
	file, id, err := f.OpenRegular()
	if err != nil {
		return FileID{}, err
	}
	file.Close()
	return id, nil
}

func (f TenantFile) refuse(path string, err error) error {
	switch {
	case path == f.Dir && (errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR)):
		return fleet.Errorf(fleet.EINVALID, "The tenants directory %s is a symbolic link or not a directory: it must be a real directory in the data directory, holding regular database files.", path)
	case errors.Is(err, syscall.ELOOP):
		return fleet.Errorf(fleet.EINVALID, "%s is a symbolic link: Tenantry opens only regular database files in %s, never what a link points to.", path, f.Dir)
	case errors.Is(err, syscall.ENOTDIR):
		return fleet.Errorf(fleet.EINVALID, "%s is not a directory: the tenants directory must be a real directory, not a symbolic link.", path)
	case errors.Is(err, syscall.ENXIO):
		return fleet.Errorf(fleet.EINVALID, "%s is a socket or device, not a regular file: Tenantry opens only regular database files in %s.", path, f.Dir)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", fleet.Errorf(fleet.ENOTFOUND, "The tenant's database file is missing."), fs.ErrNotExist)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

func kind(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFIFO:
		return "a FIFO"
	case syscall.S_IFLNK:
		return "a symbolic link"
	case syscall.S_IFSOCK:
		return "a socket"
	case syscall.S_IFCHR, syscall.S_IFBLK:
		return "a device"
	}
	return "not a regular file"
}

// Open opens the existing tenant file for reading and writing, with a
// busy timeout and immediate transactions, never creating it. It goes to
// the driver directly (the libsql client keeps a connector per URL for
// good, which a rollout over thousands of files must not), and every
// connection the pool makes is checked to be the regular file itself (see
// the top of this file).
func (f TenantFile) Open() (*sql.DB, error) {
	if _, err := f.Identify(); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	q.Set("mode", "rw")
	dsn, err := fileURL(f.Path(), q)
	if err != nil {
		return nil, err
	}
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(confined{Connector: c, f: f}), nil
}

// confined is a connector whose connections are checked.
type confined struct {
	driver.Connector
	f TenantFile
}

func (c confined) Connect(ctx context.Context) (driver.Conn, error) {
	want, err := c.f.Identify()
	if err != nil {
		return nil, err
	}
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.f.check(ctx, dc, "main", want, true); err != nil {
		dc.Close()
		return nil, err
	}
	return dc, nil
}

// Verify checks that the database schema ("main", or an attached name)
// of an open connection is the file want, before anything reads it.
func (f TenantFile) Verify(ctx context.Context, conn *sql.Conn, schema string, want FileID) error {
	return conn.Raw(func(dc any) error { return f.check(ctx, dc, schema, want, false) })
}

// VerifyWAL is Verify, also checking the WAL when the database is in WAL
// mode. It reads the schema cookie to make SQLite open the WAL.
func (f TenantFile) VerifyWAL(ctx context.Context, conn *sql.Conn, want FileID) error {
	return conn.Raw(func(dc any) error { return f.check(ctx, dc, "main", want, true) })
}

func (f TenantFile) check(ctx context.Context, dc any, schema string, want FileID, wal bool) error {
	h, err := handleOf(dc)
	if err != nil {
		return err
	}
	got, method, err := openFile(h, schema, sqlite3.SQLITE_FCNTL_FILE_POINTER, 0)
	if err != nil {
		return err
	}
	if got != want {
		return f.swapped(f.Path())
	}
	if !wal {
		return nil
	}
	// Make SQLite open the WAL (if the database is in WAL mode) by reading
	// the header; the answer itself is not looked at.
	q, ok := dc.(driver.QueryerContext)
	if !ok {
		return fmt.Errorf("driver connection %T cannot query", dc)
	}
	walFile := TenantFile{Dir: f.Dir, Name: f.Name + "-wal"}
	rows, err := q.QueryContext(ctx, `PRAGMA schema_version`, nil)
	if err != nil {
		// SQLite itself opens a WAL with O_NOFOLLOW: say why it failed.
		if _, werr := walFile.Identify(); fleet.ErrorCode(werr) == fleet.EINVALID {
			return werr
		}
		return err
	}
	rows.Close()
	gotWAL, _, err := openFile(h, schema, sqlite3.SQLITE_FCNTL_JOURNAL_POINTER, method)
	if errors.Is(err, errNotOpen) {
		return nil // rollback-journal mode: no WAL held open
	} else if err != nil {
		return err
	}
	wantWAL, err := walFile.Identify()
	if fleet.ErrorCode(err) == fleet.EINVALID {
		return err // a link or other non-file: say what it is
	} else if err != nil {
		return f.swapped(walFile.Path())
	}
	if gotWAL != wantWAL {
		return f.swapped(walFile.Path())
	}
	return nil
}

// ErrSwapped is the cause of every refusal of a file that is not the one
// identified before it was opened.
var ErrSwapped = errors.New("file swapped while it was opened")

func (f TenantFile) swapped(path string) error {
	return fleet.Wrap(fleet.EINVALID, ErrSwapped, "%s changed while it was being opened (replaced by a link or another file); it was not read. Tenantry opens only regular database files in %s.", path, f.Dir)
}

// handleOf returns the sqlite3* handle of a modernc.org/sqlite connection,
// for the file check here and the console's authorizer (console.go).
// The driver keeps it unexported; its type is pinned by go.mod, and a
// test fails if a new version moves it.
func handleOf(dc any) (uintptr, error) {
	v := reflect.ValueOf(dc)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		if h := v.Elem().FieldByName("db"); h.IsValid() && h.Kind() == reflect.Uintptr && h.Uint() != 0 {
			return uintptr(h.Uint()), nil
		}
	}
	return 0, fmt.Errorf("driver connection %T has no SQLite handle to check the file it opened", dc)
}

var errNotOpen = errors.New("file not open")

// openFile returns the identity of the file SQLite holds for a schema
// (op SQLITE_FCNTL_FILE_POINTER: the database; SQLITE_FCNTL_JOURNAL_POINTER:
// its WAL or journal) and its I/O methods. A journal is read only if its
// methods are the database's (sameAs): a unix file, not an in-memory
// journal.
func openFile(h uintptr, schema string, op int32, sameAs uintptr) (FileID, uintptr, error) {
	fd, method, err := fileOf(h, schema, op, sameAs)
	if err != nil {
		return FileID{}, 0, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return FileID{}, 0, fmt.Errorf("check the file SQLite opened: %w", err)
	}
	return idOf(&st), method, nil
}

// fileOf returns the descriptor SQLite holds for a schema's file (see
// openFile) and its I/O methods.
func fileOf(h uintptr, schema string, op int32, sameAs uintptr) (int, uintptr, error) {
	tls := libc.NewTLS()
	defer tls.Close()
	zSchema, err := libc.CString(schema)
	if err != nil {
		return 0, 0, err
	}
	defer libc.Xfree(tls, zSchema)
	p := tls.Alloc(8)
	defer tls.Free(8)
	if rc := sqlite3.Xsqlite3_file_control(tls, h, zSchema, op, p); rc != sqlite3.SQLITE_OK {
		return 0, 0, fmt.Errorf("no database %q on the connection (rc %d)", schema, rc)
	}
	file := uintptr(binary.NativeEndian.Uint64(libc.GoBytes(p, 8)))
	if file == 0 {
		return 0, 0, errNotOpen
	}
	method := uintptr(binary.NativeEndian.Uint64(libc.GoBytes(file, 8)))
	if method == 0 || (sameAs != 0 && method != sameAs) {
		return 0, 0, errNotOpen
	}
	var u sqlite3.TunixFile
	return int(int32(binary.NativeEndian.Uint32(libc.GoBytes(file+unsafe.Offsetof(u.Fh), 4)))), method, nil
}

// Attachment is a tenant file to open read-only (OpenReadOnly): its URI,
// and the file SQLite must turn out to have opened.
type Attachment struct {
	URI  string
	File TenantFile
	ID   FileID
}

// HasSQLiteHeader reports whether an open file starts like a SQLite
// database (an empty file is an empty database too).
func HasSQLiteHeader(f *os.File) bool {
	b := make([]byte, len(sqliteHeader))
	n, _ := io.ReadFull(f, b)
	return n == 0 || bytes.Equal(b[:n], sqliteHeader)
}

// Dir is a tenants directory held open, for looking at many of its files
// at once without resolving its path again for each.
type Dir struct {
	path string
	fd   int
}

// OpenDir opens a tenants directory, refusing a symbolic link (as
// OpenRegular does).
func OpenDir(path string) (*Dir, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, TenantFile{Dir: path}.refuse(path, err)
	}
	return &Dir{path: path, fd: fd}, nil
}

// Close closes the directory.
func (d *Dir) Close() error { return syscall.Close(d.fd) }

// FileStat is what Lstat tells of a regular file in a Dir.
type FileStat struct {
	ID      FileID
	Size    int64
	ModTime time.Time
}

// Lstat looks at the file name in the directory without following a
// symbolic link, and refuses anything but a regular file.
func (d *Dir) Lstat(name string) (FileStat, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return FileStat{}, &fs.PathError{Op: "lstat", Path: filepath.Join(d.path, name), Err: err}
		}
		break
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return FileStat{}, fmt.Errorf("%s is %s, not a regular file", filepath.Join(d.path, name), kind(st.Mode))
	}
	return FileStat{ID: FileID{Dev: st.Dev, Ino: st.Ino}, Size: st.Size, ModTime: time.Unix(st.Mtim.Unix())}, nil
}

// Stamp is what one look at a tenant's files tells: its fingerprint (a
// text that changes whenever they are written to) and the identity of its
// database file; zero values for a tenant whose file cannot be read.
type Stamp struct {
	Fingerprint string
	ID          FileID
}

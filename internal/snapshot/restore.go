package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Fetch writes the database of a snapshot to dst, a file it creates: the
// stored bytes are decompressed and checksummed on the way, the checksum
// compared with the one recorded (a snapshot whose bytes no longer match
// is refused, named in the error, and never restored), and the database
// checked with PRAGMA quick_check. On any failure nothing is left at dst.
//
// dst is not synced: the caller imports it as a tenant or swaps it in,
// which syncs what it keeps.
func Fetch(ctx context.Context, s Store, snap fleet.Snapshot, dst string) error {
	return fetch(ctx, s, snap, dst, "quick_check")
}

// fetch is Fetch with the check to run (quick_check, integrity_check).
func fetch(ctx context.Context, s Store, snap fleet.Snapshot, dst, pragma string) error {
	if _, err := os.Lstat(dst); err == nil {
		return fleet.Errorf(fleet.ECONFLICT, "%s already exists.", dst)
	}
	// Unpacked beside dst and linked into place once checked: dst is
	// either absent or whole.
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".partial-"+randomHex(4))
	defer removeDB(tmp)
	if err := unpack(ctx, s, snap, tmp); err != nil {
		return err
	}
	if err := tenantdb.CheckScratch(ctx, tmp, pragma); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fleet.Wrap(fleet.EINVALID, err, "%s is damaged: %s; it was not restored.", describe(snap), fleet.ErrorMessage(err))
	}
	if err := os.Link(tmp, dst); errors.Is(err, fs.ErrExist) {
		return fleet.Errorf(fleet.ECONFLICT, "%s already exists.", dst)
	} else if err != nil {
		return err
	}
	return nil
}

// describe names a snapshot for people.
func describe(snap fleet.Snapshot) string {
	return "The snapshot of " + `"` + snap.Tenant + `"` + " taken " + snap.TakenAt.UTC().Format(time.RFC3339) + " (" + snap.Key + ")"
}

// unpack decompresses the snapshot's file into path, checking the checksum.
func unpack(ctx context.Context, s Store, snap fleet.Snapshot, path string) error {
	if snap.SHA256 == "" {
		return fleet.Errorf(fleet.EINVALID, "%s has no checksum recorded, so it cannot be checked; it was not restored.", describe(snap))
	}
	rc, err := s.Open(ctx, snap.Key)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	in := &errReader{r: ctxReader{ctx, rc}}
	out := &errWriter{w: f}
	dec, err := zstd.NewReader(io.TeeReader(in, h), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(64<<20))
	if err != nil {
		return err
	}
	n, decErr := dec.WriteTo(out)
	dec.Close()
	// The checksum is of every stored byte, also those after a frame the
	// decoder gave up on: it, not the decoder, says whether the file is
	// what was written.
	if in.err == nil {
		_, _ = io.Copy(h, in)
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case in.err != nil:
		return fleet.Wrap(fleet.EUNAVAILABLE, in.err, "Reading %s failed: %v.", describe(snap), in.err)
	case out.err != nil:
		if diskFull(out.err) {
			return fleet.Wrap(fleet.EUNAVAILABLE, out.err, "Disk full: no room in %s for the %d bytes of %s.", filepath.Dir(path), snap.RawSize, describe(snap))
		}
		return fleet.Wrap(fleet.EUNAVAILABLE, out.err, "Writing %s out failed: %s.", describe(snap), cause(out.err))
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != snap.SHA256 {
		return fleet.Errorf(fleet.EINVALID, "%s is damaged: its checksum is %s, not the %s recorded; it was not restored.", describe(snap), short(sum), short(snap.SHA256))
	}
	if decErr != nil {
		return fleet.Wrap(fleet.EINVALID, decErr, "%s cannot be decompressed (%v); it was not restored.", describe(snap), decErr)
	}
	if snap.RawSize > 0 && n != snap.RawSize {
		return fleet.Errorf(fleet.EINVALID, "%s is damaged: it holds %d bytes, not the %d recorded; it was not restored.", describe(snap), n, snap.RawSize)
	}
	return f.Close()
}

// short is the start of a checksum, enough to tell two apart.
func short(sum string) string { return fleet.Truncate(sum, 16) }

// errReader keeps the first error other than EOF of the reader it wraps.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// errWriter keeps the first error of the writer it wraps.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

package snapshot_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	_ "modernc.org/sqlite"
)

// floorEnv carries the floor's orders to its child process.
const floorEnv = "TENANTRY_SNAPSHOT_FLOOR"

// floorRun is what the floor is told to do.
type floorRun struct {
	Dir string // the tenants directory: every *.db in it
	Out string // directory to write the compressed files to
}

// TestFloorChild is the fleet benchmark's floor: a bare program doing
// only the work a snapshot cannot do without, 2 workers, each store file
// once: open it with SQLite, PRAGMA quick_check in a read transaction,
// read the file's bytes inside that transaction, compress them with zstd
// at its fastest level (no frame checksum: the SHA-256 covers it),
// SHA-256, write them to a file and fsync it. No
// store, no keys, no rename, no checks of what is opened. It does nothing
// in a normal test run.
func TestFloorChild(t *testing.T) {
	spec := os.Getenv(floorEnv)
	if spec == "" {
		t.Skip("the fleet benchmark's floor")
	}
	var run floorRun
	if err := json.Unmarshal([]byte(spec), &run); err != nil {
		t.Fatal(err)
	}
	names := make(chan string)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
				zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
			defer enc.Close()
			for name := range names {
				if err := floorOne(enc, filepath.Join(run.Dir, name), filepath.Join(run.Out, name+".zst")); err != nil {
					t.Error(name, err)
				}
			}
		})
	}
	files, err := filepath.Glob(filepath.Join(run.Dir, "*.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		names <- filepath.Base(path)
	}
	close(names)
	wg.Wait()
}

func floorOne(enc *zstd.Encoder, src, dst string) error {
	ctx := context.Background()
	// Pages read through a memory map: no read call and no page cache
	// allocation per page.
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=mmap_size(1073741824)")
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var ok string
	if err := tx.QueryRow(`PRAGMA quick_check`).Scan(&ok); err != nil {
		return err
	} else if ok != "ok" {
		return errors.New(ok)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	enc.Reset(io.MultiWriter(f, h))
	// Read straight into the encoder's buffer: no copy of its own.
	if _, err := enc.ReadFrom(in); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_ = h.Sum(nil)
	return f.Sync()
}

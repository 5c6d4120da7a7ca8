package snapshot

import (
	"context"
	"path/filepath"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Drill is what a restore drill found: the snapshot restored whole and
// what its database holds.
type Drill struct {
	Snapshot fleet.Snapshot   `json:"snapshot"`
	Tables   map[string]int64 `json:"tables"` // rows of every table
	Rows     int64            `json:"rows"`   // of all tables
	Took     time.Duration    `json:"took"`
}

// Verify is a restore drill for one snapshot: its bytes are fetched into
// a temporary file in tempDir ("" for the store's work directory), the
// checksum checked, PRAGMA integrity_check run (every page, index and
// constraint) and every table's rows counted. The file is removed
// whatever happens. A snapshot that fails is an error naming it.
func Verify(ctx context.Context, s Store, snap fleet.Snapshot, tempDir string) (Drill, error) {
	start := time.Now()
	if tempDir == "" {
		o, err := Options{}.withDefaults(s)
		if err != nil {
			return Drill{}, err
		}
		tempDir = o.TempDir
	}
	path := filepath.Join(tempDir, "verify-"+randomHex(8)+".db")
	defer removeDB(path)
	if err := fetch(ctx, s, snap, path, "integrity_check"); err != nil {
		return Drill{}, err
	}
	db, err := tenantdb.OpenScratch(path)
	if err != nil {
		return Drill{}, err
	}
	defer db.Close()
	tables, err := tenantdb.TableCounts(ctx, db)
	if err != nil {
		return Drill{}, fleet.Wrap(fleet.EINVALID, err, "%s restored, but its tables cannot be counted: %v.", describe(snap), err)
	}
	d := Drill{Snapshot: snap, Tables: tables, Took: time.Since(start)}
	for _, n := range tables {
		d.Rows += n
	}
	return d, nil
}

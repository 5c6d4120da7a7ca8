package collect_test

import (
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantry/tenantry/internal/demo/demotest"
)

// benchEnd is the last day of every benchmark fleet's history.
var benchEnd = demotest.FleetEnd

// benchFleet is the shared benchmark fleet (demotest.Fleet).
func benchFleet(b *testing.B, n, days int) string { return demotest.Fleet(b, n, days) }

// freshCentral copies the fleet's registry-only central database so each
// measured run starts from the same state.
func freshCentral(b *testing.B, fleetDir string) string {
	return copyCentral(b, filepath.Join(fleetDir, "central.db"))
}

// copyCentral copies a central database that no process has open (its
// WAL, if any, checkpointed into it).
func copyCentral(b *testing.B, path string) string {
	b.Helper()
	if db, err := sql.Open("sqlite", path); err == nil { // fold the WAL in
		db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		db.Close()
	}
	dst := filepath.Join(b.TempDir(), "central.db")
	src, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		b.Fatal(err)
	}
	out.Close()
	return dst
}

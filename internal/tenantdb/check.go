package tenantdb

import (
	"bytes"
	"context"
	"io"
	"os"

	"github.com/tenantry/tenantry/internal/fleet"
)

var sqliteHeader = []byte("SQLite format 3\x00")

// LooksLikeSQLite reports whether a file starts like a SQLite database (an
// empty file is an empty database too). It reads 16 bytes: cheap enough to
// run on every file of a large fleet.
func LooksLikeSQLite(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(sqliteHeader))
	n, _ := io.ReadFull(f, b)
	return n == 0 || bytes.Equal(b[:n], sqliteHeader)
}

// CheckFile refuses a file that is not an intact, non-empty SQLite
// database, opening it read-only so that nothing about it changes.
func CheckFile(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fleet.Errorf(fleet.EINVALID, "Cannot read %s.", path)
	}
	if !fi.Mode().IsRegular() {
		return fleet.Errorf(fleet.EINVALID, "%s is not a regular file.", path)
	}
	if fi.Size() == 0 || !LooksLikeSQLite(path) {
		return fleet.Errorf(fleet.EINVALID, "The file is not a SQLite database.")
	}
	u, err := FileURL(path, true)
	if err != nil {
		return err
	}
	db, err := Open(u)
	if err != nil {
		return err
	}
	defer db.Close()
	defer Forget(u)
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&res); err != nil {
		return fleet.Errorf(fleet.EINVALID, "The file is not a usable SQLite database: %v.", err)
	}
	if res != "ok" {
		return fleet.Errorf(fleet.EINVALID, "The SQLite database is damaged: %s.", fleet.Truncate(res, 200))
	}
	return nil
}

// Package localtest plants files in a local platform's tenants directory
// for tests: a good database dropped in by hand, and one file of each
// kind that cannot be adopted.
package localtest

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // the good file is made with the driver the console uses
)

// BadFiles are the files PlantBadFiles drops, with the reason each is
// refused.
var BadFiles = map[string]string{
	"store_1.db": "invalid name (use a-z, 0-9 and -, not - first or last)",
	"x.db":       "not a SQLite database",
	"y.db":       "a symbolic link (refused)",
}

// PlantBadFiles drops a good SQLite file, dropped.db, and the BadFiles
// into dir (a tenants directory, made if missing).
func PlantBadFiles(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "dropped.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for name, content := range map[string]string{"store_1.db": "", "x.db": "not a database, only text"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("dropped.db", filepath.Join(dir, "y.db")); err != nil {
		t.Fatal(err)
	}
}

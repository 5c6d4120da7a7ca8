package platform

import (
	"context"
	"io"
)

// Snapshotter is implemented by platforms that can write a consistent,
// checked copy of a database without an extra copy in between: the local
// platform streams a small file's pages straight out of one read
// transaction (a large one goes through SQLite's online backup API into
// a work file first), sqld loads its dump into a work file. Fleet
// snapshots are taken this way (package snapshot); on other platforms
// they go through Export.
type Snapshotter interface {
	// WriteSnapshot writes a consistent copy of the database to w, as the
	// bytes of a SQLite file that PRAGMA quick_check found intact first
	// (otherwise nothing is written, and the error wraps
	// tenantdb.ErrDamaged), and returns how many bytes it wrote. Work
	// files go to tempDir and are removed before it returns.
	WriteSnapshot(ctx context.Context, name, tempDir string, w io.Writer) (int64, error)
}

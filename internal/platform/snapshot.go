package platform

import "context"

// Snapshotter is implemented by platforms that can write a consistent copy
// of a database straight into a file, with no copy in between: the local
// platform with SQLite's online backup API, sqld from its dump. Fleet
// snapshots are taken this way (package snapshot); on other platforms
// they go through Export.
type Snapshotter interface {
	// SnapshotTo writes a consistent SQLite file of the database to path,
	// which it creates and which must not exist. The file is a scratch
	// copy: neither synced nor journaled. On error, whatever is left at
	// path is the caller's to remove.
	SnapshotTo(ctx context.Context, name, path string) error
}

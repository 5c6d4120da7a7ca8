package sqld

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

var _ platform.Snapshotter = (*Platform)(nil)

// WriteSnapshot implements platform.Snapshotter: the namespace's dump (one
// consistent read, as Export's) loaded into a work file, checked, and
// written to w.
func (p *Platform) WriteSnapshot(ctx context.Context, name, tempDir string, w io.Writer) (int64, error) {
	dump, version, err := p.exportDump(ctx, name)
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp(tempDir, "copy-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "copy.db")
	if err := tenantdb.LoadDump(ctx, dump, version, path); err != nil {
		return 0, fleet.Errorf(fleet.EUNAVAILABLE, "sqld's dump of %q did not load into a SQLite file: %v.", name, err)
	}
	if err := tenantdb.CheckScratch(ctx, path, "quick_check"); err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(w, f)
}

// exportDump returns the namespace's SQL dump and its user_version, which
// the dump leaves out.
func (p *Platform) exportDump(ctx context.Context, name string) (string, int64, error) {
	if err := fleet.ValidateName(name); err != nil {
		return "", 0, err
	}
	// One request: the dump leaves the user_version out.
	res, err := p.QueryOnce(ctx, name, `SELECT user_version FROM pragma_user_version`)
	if err != nil {
		if fleet.ErrorCode(err) == fleet.ENOTFOUND {
			return "", 0, err
		}
		return "", 0, p.dataError(name, err)
	}
	var version int64
	if !res.Next() || res.Scan(&version) != nil {
		return "", 0, fleet.Errorf(fleet.EUNAVAILABLE, "sqld did not tell the user_version of %q.", name)
	}
	dump, err := p.dump(ctx, name)
	if err != nil {
		return "", 0, err
	}
	return dump, version, nil
}

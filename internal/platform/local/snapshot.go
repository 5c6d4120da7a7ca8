package local

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
)

var _ platform.Snapshotter = (*Platform)(nil)

// SnapshotTo implements platform.Snapshotter with the online backup API,
// as Clone and Export copy, straight into path. The copy is written with
// no journal and no sync: it is a scratch file the caller checks,
// compresses and removes, and syncing it would only cost.
func (p *Platform) SnapshotTo(ctx context.Context, name, path string) error {
	f, err := p.file(name)
	if err != nil {
		return err
	}
	if _, err := p.describe(name, f.Path()); err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(abs); err == nil {
		return fleet.Errorf(fleet.ECONFLICT, "%s already exists.", abs)
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(off)")
	q.Add("_pragma", "synchronous(off)")
	dst := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	if err := backup(ctx, f, dst); err != nil {
		return fmt.Errorf("copy %s: %w", name, err)
	}
	return nil
}

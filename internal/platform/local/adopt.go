package local

import (
	"context"
	"io"
	"os"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
)

// ImportChecked makes a new tenant from a database file the caller has
// checked already (a snapshot fetched, its checksum and quick_check
// passed): linked into place when it is on the tenants' file system,
// copied otherwise, synced, and published as Import publishes, without a
// second check. The file itself is left to the caller to remove.
func (p *Platform) ImportChecked(ctx context.Context, name, file string) (platform.Database, error) {
	path, err := p.path(name)
	if err != nil {
		return platform.Database{}, err
	}
	if _, err := os.Lstat(path); err == nil {
		return platform.Database{}, fleet.Errorf(fleet.ECONFLICT, "Tenant %q already exists.", name)
	}
	tmp := p.tmpFile(name)
	defer removeDB(tmp)
	if err := os.Link(file, tmp); err != nil {
		// Another file system (a snapshot directory on its own volume).
		if err := copyFile(ctx, file, tmp); err != nil {
			return platform.Database{}, err
		}
	}
	if err := publish(tmp, path, name); err != nil {
		return platform.Database{}, err
	}
	return p.describe(name, path)
}

func copyFile(ctx context.Context, from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, ctxReader{ctx, src})
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

package local

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
)

var _ platform.Skipper = (*Platform)(nil)

// Unadoptable implements platform.Skipper: every <something>.db in the
// tenants directory that List leaves out or Probe refused, with the
// reason. It costs one directory read (the entry types come with it) and a
// probe per rejected name, so it can run with every rescan.
func (p *Platform) Unadoptable(ctx context.Context, rejected []string) ([]platform.Skipped, error) {
	dir, err := os.Open(p.tenantsDir())
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	entries, err := dir.ReadDir(-1)
	dir.Close()
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	var out []platform.Skipped
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".db")
		if !ok {
			continue // WAL, journal and other files are not tenants
		}
		if reason := nameProblem(name); reason != "" {
			out = append(out, platform.Skipped{File: e.Name(), Reason: reason})
		} else if reason := typeProblem(e.Type()); reason != "" {
			out = append(out, platform.Skipped{File: e.Name(), Reason: reason})
		}
	}
	for _, name := range rejected {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := p.Probe(ctx, name)
		switch {
		case err == nil || fleet.ErrorCode(err) == fleet.ENOTFOUND:
			// a database after all, or gone: nothing to say
		case fleet.ErrorCode(err) == fleet.EINVALID:
			out = append(out, platform.Skipped{File: name + ".db", Reason: "not a SQLite database"})
		default:
			out = append(out, platform.Skipped{File: name + ".db", Reason: "cannot be read: " + fleet.ErrorMessage(err)})
		}
	}
	slices.SortFunc(out, func(a, b platform.Skipped) int { return strings.Compare(a.File, b.File) })
	return slices.CompactFunc(out, func(a, b platform.Skipped) bool { return a.File == b.File }), nil
}

// nameProblem says in a few words why name is no tenant name, "" if it is.
func nameProblem(name string) string {
	switch {
	case fleet.ValidateName(name) == nil:
		return ""
	case name == "":
		return "invalid name (empty)"
	case len(name) > fleet.MaxNameLen:
		return fmt.Sprintf("invalid name (longer than %d characters)", fleet.MaxNameLen)
	default:
		return "invalid name (use a-z, 0-9 and -, not - first or last)"
	}
}

// typeProblem says why an entry of this type is refused, "" for a regular
// file. Links are never followed: one could lead out of the data directory.
func typeProblem(t fs.FileMode) string {
	switch {
	case t.IsRegular():
		return ""
	case t&fs.ModeSymlink != 0:
		return "a symbolic link (refused)"
	case t.IsDir():
		return "a directory (refused)"
	case t&fs.ModeNamedPipe != 0:
		return "a FIFO (refused)"
	default:
		return "not a regular file (refused)"
	}
}

package lifecycle

import (
	"context"
	"slices"

	"github.com/tenantry/tenantry/internal/platform"
)

// Unadoptable returns what the last rescan found in the platform's storage
// that looks like a tenant but cannot be adopted (a file that is not a
// SQLite database, a symbolic link, a bad name), with why; nil on
// platforms that hold no such things, or before the first rescan.
func (s *Service) Unadoptable() []platform.Skipped {
	if p := s.unadoptable.Load(); p != nil {
		return slices.Clone(*p)
	}
	return nil
}

// noteUnadoptable asks the platform, if it can have such entries, which
// ones it has; rejected are the names Probe refused during the rescan. A
// change is logged once, not on every rescan.
func (s *Service) noteUnadoptable(ctx context.Context, rejected []string) {
	sk, ok := s.p.(platform.Skipper)
	if !ok {
		return
	}
	found, err := sk.Unadoptable(ctx, rejected)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("list unadoptable files", "err", err)
		}
		return // keep what the last rescan found
	}
	if prev := s.unadoptable.Swap(&found); len(found) > 0 && (prev == nil || !slices.Equal(*prev, found)) {
		files := make([]string, min(len(found), 20))
		for i := range files {
			files[i] = found[i].File + ": " + found[i].Reason
		}
		s.log.Info("files in the platform's storage cannot be adopted as tenants", "count", len(found), "files", files)
	}
}

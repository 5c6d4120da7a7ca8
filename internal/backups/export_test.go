package backups

import "context"

// Prune applies the retention policy as the job does after a run.
func (s *Service) Prune(ctx context.Context, tenant string) (int, error) { return s.prune(ctx, tenant) }

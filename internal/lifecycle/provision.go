package lifecycle

import (
	"context"
	"errors"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// Provision is a request for a new tenant from the API: empty, or a branch
// of From (as of At when not zero).
type Provision struct {
	Name string
	From string
	At   time.Time
	// Once, if set, makes the request idempotent: the same key again
	// returns the job the first request queued and does nothing else.
	Once *central.Once
}

// Provision queues the tenant a signup asked for. again reports that the
// request's idempotency key had already queued the job returned.
func (s *Service) Provision(ctx context.Context, actor string, r Provision) (j *fleet.Job, again bool, err error) {
	for {
		if r.Once != nil {
			id, err := s.db.OnceJob(ctx, *r.Once)
			if err != nil {
				return nil, false, err
			}
			if id != 0 {
				j, err := s.db.Job(ctx, id)
				return j, err == nil, err
			}
		}
		if r.From != "" {
			j, err = s.clone(ctx, actor, r.From, r.Name, r.At, r.Once)
		} else if !r.At.IsZero() {
			return nil, false, s.refused(ctx, actor, fleet.JobCreate, r.Name, "", fleet.Errorf(fleet.EINVALID, "\"at\" is a point in time of a branch: it needs \"from\", the tenant to branch."))
		} else {
			j, err = s.create(ctx, actor, r.Name, r.Once)
		}
		if !errors.Is(err, central.ErrOnceTaken) {
			return j, false, err
		}
		// A concurrent request with the same key won: answer with its job.
	}
}

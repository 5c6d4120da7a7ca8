package schema

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
)

// The modes a person picks a rollout by (Request.Mode).
const (
	ModeDryRun = "dry-run"
	ModeCanary = "canary" // the first Canary ready tenants
	ModeNamed  = "named"  // the tenants listed
	ModeFull   = "full"
)

// ConfirmWord is what a person types before a rollout changes tenant
// databases.
const ConfirmWord = "migrate"

// Request is a rollout as a person asks for it, a form's fields or the
// API's: the mode by name, numbers as typed. Start reads it into a Spec.
type Request struct {
	Mode     string // ModeDryRun, ModeCanary, ModeNamed or ModeFull
	Canary   string // tenants in a canary
	Tenants  string // a named canary's tenants: separated by commas, semicolons or spaces
	Parallel string // default DefaultParallel
	OnError  string // stop (default) or continue
	// Confirm must be ConfirmWord unless the rollout is a dry run: a
	// request sent by hand cannot skip the question.
	Confirm string
}

// Spec reads the request.
func (q Request) Spec() (Spec, error) {
	var spec Spec
	spec.Parallel = DefaultParallel
	if p := strings.TrimSpace(q.Parallel); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > MaxParallel {
			return spec, fleet.Errorf(fleet.EINVALID, "Parallelism must be a whole number from 1 to %d, not %q.", MaxParallel, fleet.Truncate(p, 20))
		}
		spec.Parallel = n
	}
	switch q.OnError {
	case "", "stop", "continue":
		spec.OnError = q.OnError
	default:
		return spec, fleet.Errorf(fleet.EINVALID, "On error must be stop or continue, not %q.", fleet.Truncate(q.OnError, 20))
	}
	switch q.Mode {
	case ModeDryRun:
		spec.DryRun = true
	case ModeCanary:
		n, err := strconv.Atoi(strings.TrimSpace(q.Canary))
		if err != nil || n < 1 || n > MaxCanary {
			return spec, fleet.Errorf(fleet.EINVALID, "A canary is a whole number of tenants from 1 to %d, not %q.", MaxCanary, fleet.Truncate(strings.TrimSpace(q.Canary), 20))
		}
		spec.Canary = n
	case ModeNamed:
		spec.Tenants = strings.FieldsFunc(q.Tenants, func(r rune) bool {
			return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
		})
		if len(spec.Tenants) == 0 {
			return spec, fleet.Errorf(fleet.EINVALID, "Name at least one tenant for the canary.")
		}
	case ModeFull:
	case "":
		return spec, fleet.Errorf(fleet.EINVALID, "Choose what to run: a dry run, a canary or the full rollout.")
	default:
		return spec, fleet.Errorf(fleet.EINVALID, "Unknown mode %q: choose a dry run, a canary or the full rollout.", fleet.Truncate(q.Mode, 20))
	}
	if !spec.DryRun && strings.TrimSpace(q.Confirm) != ConfirmWord {
		return spec, fleet.Errorf(fleet.EINVALID, "Type %s to confirm: this rollout changes tenant databases.", ConfirmWord)
	}
	return spec, nil
}

// mode names the spec's mode as a Request would.
func (s Spec) mode() string {
	switch {
	case s.DryRun:
		return ModeDryRun
	case s.Canary != 0:
		return ModeCanary
	case len(s.Tenants) > 0:
		return ModeNamed
	}
	return ModeFull
}

// Start reads q and submits its rollout for actor (trigger: web, api,
// cli). A refusal, q's mistakes included, is audited as actor's.
func (r *Rollouts) Start(ctx context.Context, runner *jobs.Runner, actor, trigger string, q Request) (*central.MigrationRun, *fleet.Job, error) {
	spec, err := q.Spec()
	if err != nil {
		r.audit(ctx, fleet.Audited(actor, central.RolloutJob+".start", "", "mode "+fleet.Truncate(q.Mode, 20), err))
		return nil, nil, err
	}
	spec.Actor, spec.Trigger = actor, trigger
	run, j, err := r.submit(ctx, runner, spec)
	if err != nil {
		r.audit(ctx, fleet.Audited(actor, central.RolloutJob+".start", "", "mode "+fleet.Truncate(q.Mode, 20), err))
	}
	return run, j, err
}

// Retry rolls out again to the tenants rollout id failed on, as it did
// (parallelism, on error); see Submit.
func (r *Rollouts) Retry(ctx context.Context, runner *jobs.Runner, actor, trigger string, id int64) (*central.MigrationRun, *fleet.Job, error) {
	spec := Spec{RetryOf: id, Actor: actor, Trigger: trigger}
	if prev, err := r.db.MigrationRunByID(ctx, id); err == nil {
		spec.Parallel, spec.OnError = prev.Parallel, prev.OnError
	}
	return r.Submit(ctx, runner, spec)
}

// Stop asks rollout id to start no new tenant (those in progress finish)
// and audits it as actor's, refused or not; it returns the rollout as it
// now is.
func (r *Rollouts) Stop(ctx context.Context, actor string, id int64) (*central.MigrationRun, error) {
	run, err := r.db.MigrationRunByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := r.db.RequestStop(ctx, id); err != nil {
		r.audit(ctx, fleet.Audited(actor, "schema.rollout.stop", "", fmt.Sprintf("rollout %d", id), err))
		return run, err
	}
	r.audit(ctx, fleet.Audited(actor, "schema.rollout.stop", "", fmt.Sprintf("rollout %d (%s) to version %d", run.ID, run.Mode, run.Target), nil))
	return r.db.MigrationRunByID(ctx, id)
}

func (r *Rollouts) audit(ctx context.Context, e fleet.AuditEntry) {
	if err := r.db.Audit(ctx, e); err != nil {
		r.log.Warn("write audit entry", "action", e.Action, "err", err)
	}
}

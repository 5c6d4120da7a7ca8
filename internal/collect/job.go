package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
)

// JobKind is the job that runs a collection. The central database allows
// at most one queued or running, across every console replica.
const JobKind = "metrics.collect"

type jobArgs struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Trigger string `json:"trigger"`
	// Shard is read by the central database's index that allows one
	// queued or running collection per shard.
	Shard string `json:"shard,omitempty"`
}

// Register makes runner run collections.
func (c *Collector) Register(r *jobs.Runner) {
	r.Handle(JobKind, jobs.Handler{Run: c.runJob, GiveUp: c.giveUp})
}

// Submit queues a collection of spec's days. It returns the run (with its
// id, for its page) and the job that will run it. A refusal (bad days, a
// collection already queued) is audited as spec.Actor's, except the
// schedule's, which tries again at its next tick; a queued collection is
// audited by its job when it ends.
func (c *Collector) Submit(ctx context.Context, runner *jobs.Runner, spec Spec) (*central.CollectRun, *fleet.Job, error) {
	r, j, err := c.submit(ctx, runner, spec)
	if err != nil && spec.Trigger != "schedule" {
		days := spec.From.UTC().Format(fleet.DayLayout) + " to " + spec.To.UTC().Format(fleet.DayLayout)
		c.auditRefusal(ctx, spec.Actor, days, err)
	}
	return r, j, err
}

// SubmitRange is Submit for days as a person typed them (a form, the
// API): from and to as YYYY-MM-DD, inclusive, or both empty for yesterday
// and today (UTC). Days that do not parse are refused and audited too.
func (c *Collector) SubmitRange(ctx context.Context, runner *jobs.Runner, actor, trigger, from, to string) (*central.CollectRun, *fleet.Job, error) {
	f, t := DefaultRange(c.db.Now())
	var err error
	if from != "" || to != "" {
		f, t, err = fleet.ParseRange(from, to)
	}
	var (
		r *central.CollectRun
		j *fleet.Job
	)
	if err == nil {
		r, j, err = c.submit(ctx, runner, Spec{From: f, To: t, Trigger: trigger, Actor: actor})
	}
	if err != nil {
		c.auditRefusal(ctx, actor, fleet.Truncate(from+" to "+to, 60), err)
	}
	return r, j, err
}

func (c *Collector) auditRefusal(ctx context.Context, actor, days string, err error) {
	if aerr := c.db.Audit(ctx, fleet.Audited(actor, JobKind, "", days, err)); aerr != nil {
		c.log.Error("write audit entry", "action", JobKind, "err", aerr)
	}
}

func (c *Collector) submit(ctx context.Context, runner *jobs.Runner, spec Spec) (*central.CollectRun, *fleet.Job, error) {
	from, to := spec.From.UTC().Truncate(24*time.Hour), spec.To.UTC().Truncate(24*time.Hour)
	if _, _, err := fleet.ParseRange(from.Format(fleet.DayLayout), to.Format(fleet.DayLayout)); err != nil {
		return nil, nil, err
	}
	a := jobArgs{From: from.Format(fleet.DayLayout), To: to.Format(fleet.DayLayout), Trigger: spec.Trigger, Shard: spec.Shard.String()}
	b, _ := json.Marshal(a)
	j := &fleet.Job{Kind: JobKind, Args: string(b), CreatedBy: spec.Actor}
	r := &central.CollectRun{From: a.From, To: a.To, Trigger: spec.Trigger, StartedBy: spec.Actor, Shard: a.Shard}
	if err := c.db.QueueCollection(ctx, j, r); err != nil {
		return nil, nil, err
	}
	runner.Wake()
	return r, j, nil
}

func (c *Collector) runJob(ctx context.Context, j *fleet.Job, p jobs.Progress) error {
	var a jobArgs
	if err := json.Unmarshal([]byte(j.Args), &a); err != nil {
		return fmt.Errorf("collection job arguments: %w", err)
	}
	from, to, err := fleet.ParseRange(a.From, a.To)
	if err != nil {
		return err
	}
	shard, err := ParseShard(a.Shard)
	if err != nil {
		return err
	}
	p("Reconciling the registry", 0, 0)
	s, err := c.Run(ctx, Spec{From: from, To: to, Trigger: a.Trigger, Actor: j.CreatedBy, JobID: j.ID, Shard: shard}, func(done, total int64) {
		p(fmt.Sprintf("Collecting %s to %s", a.From, a.To), done, total)
	})
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("run %d, %s to %s: %d ok, %d failed, %d skipped", s.ID, s.From, s.To, s.OK, s.Failed, s.Skipped)
	if s.Shard != "" {
		detail += ", shard " + s.Shard
	}
	if a.Trigger != "schedule" {
		_ = c.db.Audit(ctx, fleet.AuditEntry{Actor: j.CreatedBy, Action: JobKind, Detail: detail})
	}
	c.log.Info("collection finished", "run", s.ID, "from", s.From, "to", s.To, "ok", s.OK, "failed", s.Failed,
		"skipped", s.Skipped, "rows", s.RowsWritten, "duration", s.Duration())
	return nil
}

func (c *Collector) giveUp(ctx context.Context, j *fleet.Job, cause error) {
	if r, err := c.db.CollectRunByJob(ctx, j.ID); err == nil && !(r.State == central.RunSucceeded || r.State == central.RunFailed) {
		_ = c.db.FinishRun(ctx, r.ID, r.Tenants, cause.Error())
	}
	_ = c.db.Audit(ctx, fleet.AuditEntry{Actor: j.CreatedBy, Action: JobKind, Outcome: "error", Error: cause.Error()})
}

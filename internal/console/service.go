package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
)

// Service is the console as the web and the CLI use it: it finds the
// tenant in the registry, opens the platform's guarded connection, runs
// within the limits and records the run in its user's history (and a
// write in the audit log).
type Service struct {
	DB       *central.DB
	Platform platform.Platform
	Limits   Limits
	// Workers bounds a fan-out's tenants queried at once (default: one per
	// core on local files, 32 over the network).
	Workers int
	Log     *slog.Logger

	queries, fanOuts gate // runs under way (see MaxQueriesPerUser)
}

// limits returns the service's limits, filled.
func (s *Service) limits() Limits { return s.Limits.WithDefaults() }

// CurrentLimits returns the limits in force.
func (s *Service) CurrentLimits() Limits { return s.limits() }

// ready checks that name is a ready tenant.
func (s *Service) ready(ctx context.Context, name string) error {
	if err := fleet.ValidateName(name); err != nil {
		return err
	}
	t, err := s.DB.Tenant(ctx, name)
	if err != nil {
		return err
	}
	if t.Status != fleet.StatusReady {
		return fleet.Errorf(fleet.ECONFLICT, "Tenant %q is %s, not ready: it cannot be queried now.", name, t.Status)
	}
	return nil
}

// Open opens a ready tenant's console connection.
func (s *Service) Open(ctx context.Context, tenant string, write bool) (platform.ConsoleConn, error) {
	if err := s.ready(ctx, tenant); err != nil {
		return nil, err
	}
	return s.Platform.OpenConsole(ctx, tenant, write)
}

// Query runs req on one tenant and records it. A write needs write (the
// caller checked the user may) and records an audit entry too; the
// result then says how many rows changed.
func (s *Service) Query(ctx context.Context, actor, tenant string, req Request, write bool) (*Result, error) {
	if err := req.Check(); err != nil {
		return nil, err
	}
	release, err := s.acquireQuery(actor)
	if err != nil {
		return nil, err
	}
	defer release()
	start := time.Now()
	res, err := s.query(ctx, tenant, req, write)
	rec := central.QueryRecord{Actor: actor, Tenant: tenant, SQL: req.SQL, Params: req.Params, Write: write, Outcome: "ok", Duration: time.Since(start)}
	if err != nil {
		rec.Outcome, rec.Error = "failed", fleet.ErrorMessage(err)
	} else {
		rec.Rows = int64(len(res.Rows))
		if write && len(res.Columns) == 0 {
			rec.Rows = res.Changes
		}
	}
	s.record(ctx, rec)
	if write {
		e := fleet.AuditEntry{Actor: actor, Action: "sql.write", Tenant: tenant, Detail: req.SQL, Outcome: "ok"}
		if err != nil {
			e.Outcome, e.Error = "failed", fleet.ErrorMessage(err)
		} else {
			e.Detail = fmt.Sprintf("%s\n-- %d rows changed", req.SQL, res.Changes)
		}
		if aerr := s.DB.Audit(ctx, e); aerr != nil {
			s.log().Error("audit of a console write", "tenant", tenant, "err", aerr)
		}
	}
	return res, err
}

func (s *Service) query(ctx context.Context, tenant string, req Request, write bool) (*Result, error) {
	c, err := s.Open(ctx, tenant, write)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var before int64
	if write {
		if before, err = totalChanges(ctx, c); err != nil {
			return nil, err
		}
	}
	res, err := Run(ctx, c, req, s.limits())
	if err != nil || !write {
		return res, err
	}
	after, err := totalChanges(ctx, c)
	if err != nil {
		return nil, err
	}
	res.Changes = after - before
	return res, nil
}

func totalChanges(ctx context.Context, c Conn) (int64, error) {
	rows, err := c.QueryContext(ctx, `SELECT total_changes()`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		err = rows.Scan(&n)
	}
	return n, errors.Join(err, rows.Err())
}

// Export streams a read-only query's whole result (no row cap, the time
// limit still holds) and records it.
func (s *Service) Export(ctx context.Context, actor, tenant string, req Request, columns func([]Column) error, row func([]any) error) (err error) {
	release, err := s.acquireQuery(actor)
	if err != nil {
		return err
	}
	defer release()
	start := time.Now()
	var n int64
	defer func() {
		rec := central.QueryRecord{Actor: actor, Tenant: tenant, SQL: req.SQL, Params: req.Params, Outcome: "ok", Rows: n, Duration: time.Since(start)}
		if err != nil {
			rec.Outcome, rec.Error = "failed", fleet.ErrorMessage(err)
		}
		s.record(ctx, rec)
	}()
	c, err := s.Open(ctx, tenant, false)
	if err != nil {
		return err
	}
	defer c.Close()
	l := s.limits()
	l.MaxRows, l.MaxBytes = -1, -1 // streamed: memory holds one row
	_, err = Stream(ctx, c, req, l, columns, func(r []any) error { n++; return row(r) })
	return err
}

// Plan is a fan-out checked and resolved to its tenants, holding one of
// its actor's fan-out slots (MaxFanOutsPerUser) until Run ends or Release.
type Plan struct {
	Scope   fleet.Scope
	Tenants []string
	Request Request

	release func()
}

// Release gives back the plan's slot if it will not be run.
func (p Plan) Release() {
	if p.release != nil {
		p.release()
	}
}

// Plan checks req, takes a fan-out slot for actor (a *Busy error when
// there is none) and resolves the scope to ready tenant names; a scope
// matching none is an error.
func (s *Service) Plan(ctx context.Context, actor string, sc fleet.Scope, req Request) (p Plan, err error) {
	if err := req.Check(); err != nil {
		return Plan{}, err
	}
	release, err := s.acquireFanOut(actor)
	if err != nil {
		return Plan{}, err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	all, err := s.DB.ReadyNames(ctx, "", 0)
	if err != nil {
		return Plan{}, err
	}
	names, err := Select(all, sc.Pattern, sc.List)
	if err != nil {
		return Plan{}, err
	}
	if len(names) == 0 {
		return Plan{}, fleet.Errorf(fleet.EINVALID, "No ready tenant matches: nothing to query.")
	}
	return Plan{Scope: sc, Tenants: names, Request: req, release: release}, nil
}

// FanOut plans and runs a read-only req on every tenant of the scope, as
// one request (the CLI, an export, the API's stream): the same checks,
// slots (a *Busy error past them), per-tenant limits, read-only
// connections, deadline and history record as a background run (Runs).
// Rows go to sink as they come, in tenant order; a plan that fails is
// recorded too.
func (s *Service) FanOut(ctx context.Context, actor string, sc fleet.Scope, req Request, sink Sink) (failed int, err error) {
	p, err := s.plan(ctx, actor, sc, req)
	if err != nil {
		return 0, err
	}
	return s.Run(ctx, actor, p, sink)
}

// Gather runs a fan-out like FanOut and answers it at once: the merged
// rows, capped in all at the limits (see Merge), and the failures.
func (s *Service) Gather(ctx context.Context, actor string, sc fleet.Scope, req Request) (*FanOutResult, error) {
	m := NewMerge(s.limits())
	if _, err := s.FanOut(ctx, actor, sc, req, m); err != nil {
		return nil, err
	}
	return m.FanOutResult(), nil
}

// plan is Plan, recording a refusal in actor's history (but not a busy
// console's: the user did nothing wrong).
func (s *Service) plan(ctx context.Context, actor string, sc fleet.Scope, req Request) (Plan, error) {
	p, err := s.Plan(ctx, actor, sc, req)
	if err != nil {
		if _, busy := AsBusy(err); !busy {
			s.record(ctx, central.QueryRecord{Actor: actor, Scope: &sc, SQL: req.SQL, Params: req.Params, Outcome: "failed", Error: fleet.ErrorMessage(err)})
		}
		return Plan{}, err
	}
	return p, nil
}

// FanOutDeadline bounds a fan-out however its tenants are bounded: a
// fan-out holds a slot for as long as it runs.
const FanOutDeadline = 30 * time.Minute

// Run runs a planned fan-out, handing the merged results to sink, and
// records it; it gives back the plan's slot when it ends.
func (s *Service) Run(ctx context.Context, actor string, p Plan, sink Sink) (failed int, err error) {
	defer p.Release()
	ctx, cancel := context.WithTimeout(ctx, FanOutDeadline)
	defer cancel()
	start := time.Now()
	rows := &countingSink{Sink: sink}
	defer func() {
		rec := central.QueryRecord{Actor: actor, Scope: &p.Scope, SQL: p.Request.SQL, Params: p.Request.Params, Outcome: "ok", Rows: rows.n, Duration: time.Since(start)}
		if err != nil {
			rec.Outcome, rec.Error = "failed", fleet.ErrorMessage(err)
		} else if failed > 0 {
			rec.Error = fmt.Sprintf("%d tenants failed", failed)
		}
		s.record(ctx, rec)
	}()
	l, workers := s.limits(), s.workers()
	// Up to a window of finished tenants wait for their turn (FanOut.Run):
	// together they hold no more than one result's bytes.
	if l.MaxBytes > 0 {
		l.MaxBytes = max(64<<10, l.MaxBytes/(4*workers))
	}
	f := FanOut{Tenants: p.Tenants, Request: p.Request, Limits: l, Workers: workers,
		Open: func(ctx context.Context, name string) (Conn, error) { return s.Platform.OpenConsole(ctx, name, false) }}
	return f.Run(ctx, rows)
}

func (s *Service) workers() int {
	if s.Workers > 0 {
		return s.Workers
	}
	if s.Platform.Name() == "local" {
		return runtime.GOMAXPROCS(0)
	}
	return 32
}

// countingSink counts the rows passed on.
type countingSink struct {
	Sink
	n int64
}

func (c *countingSink) Row(tenant string, vals []any) error {
	c.n++
	return c.Sink.Row(tenant, vals)
}

func (s *Service) record(ctx context.Context, r central.QueryRecord) {
	if err := s.DB.AddQuery(ctx, r); err != nil {
		s.log().Error("record a console query", "err", err)
	}
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

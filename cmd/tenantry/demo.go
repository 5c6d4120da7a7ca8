package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/demo"
	"github.com/tenantry/tenantry/internal/fleet"
	"golang.org/x/sync/errgroup"
)

// DemoEmail is the admin user that demo creates.
const DemoEmail = "admin@example.com"

func (e *env) demo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	stores := fs.Int("stores", 50, "number of stores")
	days := fs.Int("days", 90, "days of history")
	seed := fs.Int64("seed", 1, "random seed (same seed, same fleet)")
	if _, err := parse(fs, args, e.stderr, "demo [--stores N] [--days D] [--seed S]", 0); err != nil {
		return err
	}
	if *stores < 1 || *stores > 100_000 {
		return usagef("--stores must be between 1 and 100000")
	}
	if *days < 1 || *days > 3650 {
		return usagef("--days must be between 1 and 3650")
	}
	a, err := e.openCLI()
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.life.Rescan(e.ctx, ""); err != nil {
		return err
	}
	counts, err := a.db.CountTenants(e.ctx)
	if err != nil {
		return err
	}
	var have int64
	for _, c := range counts {
		have += c.Count
	}
	if have > 0 {
		fmt.Fprintf(e.stdout, "demo: the fleet has %d tenants already; leaving it as it is\n", have)
	} else {
		if err := e.makeFleet(a, *stores, *days, *seed); err != nil {
			return err
		}
		if err := e.demoCollect(a, *days); err != nil {
			return err
		}
	}
	return e.demoAdmin(a)
}

func (e *env) makeFleet(a *app, stores, days int, seed int64) error {
	start := time.Now()
	profiles := demo.Profiles(stores, seed)
	for i, p := range profiles {
		j, err := a.life.Create(e.ctx, "demo", p.Name)
		if err != nil {
			return err
		}
		if err := e.await(a, j); err != nil {
			return fmt.Errorf("create %s: %w", p.Name, err)
		}
		e.progress("demo: created %d/%d stores", i+1, len(profiles))
	}
	e.progressEnd()
	now := e.now().UTC()
	var done, orders atomic.Int64
	g, ctx := errgroup.WithContext(e.ctx)
	g.SetLimit(2)
	for _, p := range profiles {
		g.Go(func() error {
			db, err := a.p.Open(ctx, p.Name)
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := demo.Fill(ctx, db, p, days, now, now)
			if err != nil {
				return fmt.Errorf("fill %s: %w", p.Name, err)
			}
			orders.Add(int64(st.Orders))
			e.progress("demo: filled %d/%d stores", done.Add(1), len(profiles))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	e.progressEnd()
	if _, err := a.life.Rescan(e.ctx, ""); err != nil { // sizes after filling
		return err
	}
	fmt.Fprintf(e.stdout, "demo: %d stores with %d days of history (%d orders) in %s\n", stores, days, orders.Load(),
		time.Since(start).Round(time.Millisecond))
	return nil
}

// demoAdmin creates the first admin unless there are users already. The
// password is TENANTRY_PASSWORD or a generated one, printed this once.
func (e *env) demoAdmin(a *app) error {
	n, err := a.db.CountUsers(e.ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(e.stdout, "demo: users exist already; log in with your account (the first admin is %s)\n", DemoEmail)
		return nil
	}
	password := e.cfg.Password
	generated := password == ""
	if generated {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		password = base64.RawURLEncoding.EncodeToString(b)
	}
	if _, err := a.db.AddUser(e.ctx, DemoEmail, password, fleet.RoleAdmin); err != nil {
		return err
	}
	_ = a.db.Audit(e.ctx, fleet.AuditEntry{Actor: "demo", Action: "user.add", Detail: DemoEmail + " as admin"})
	if generated {
		fmt.Fprintf(e.stdout, "demo: log in as %s with password %s (shown once)\n", DemoEmail, password)
	} else {
		fmt.Fprintf(e.stdout, "demo: log in as %s with the password in TENANTRY_PASSWORD\n", DemoEmail)
	}
	return nil
}

// demoCollect fills the metrics table with the fleet's whole history.
func (e *env) demoCollect(a *app, days int) error {
	_, to := collect.DefaultRange(e.now())
	from := to.AddDate(0, 0, -(days - 1))
	s, err := e.runCollection(a, collect.Spec{From: from, To: to, Trigger: "demo", Actor: "demo"})
	if err != nil {
		return fmt.Errorf("collect demo metrics: %w", err)
	}
	fmt.Fprintf(e.stdout, "demo: collected %d days of metrics from %d stores (%d rows) in %s\n", days, s.OK, s.RowsWritten,
		s.Duration().Round(time.Millisecond))
	return nil
}

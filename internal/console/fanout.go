package console

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/pipeline"
)

// Opener opens the console connection of one tenant.
type Opener func(ctx context.Context, tenant string) (Conn, error)

// FanOut is one query over many tenants.
type FanOut struct {
	Tenants []string
	Open    Opener
	Request Request
	Limits  Limits // for each tenant
	// Workers bounds the tenants queried at once.
	Workers int
}

// TenantError is a tenant the query failed on.
type TenantError struct {
	Tenant string `json:"tenant"`
	Error  string `json:"error"`
}

// Sink receives a fan-out's results in tenant order: Columns once (the
// first tenant's columns after a leading "tenant"), then each tenant's
// rows or its error, with Progress after each tenant. Calls come from one
// goroutine at a time. A Sink error stops the fan-out.
type Sink interface {
	Columns(cols []Column) error
	Row(tenant string, vals []any) error
	Fail(e TenantError) error
	// TenantTruncated says a tenant had more rows than the cap.
	TenantTruncated(tenant string) error
	// Progress reports tenants done (succeeded or failed) out of total.
	Progress(done, failed, total int)
}

// tenantResult is one tenant's outcome, waiting for its turn.
type tenantResult struct {
	tenant string
	res    *Result
	err    error
}

// Run queries every tenant, Workers at a time, and hands the results to
// sink in tenant order. One tenant's failure (it cannot be opened, the
// query fails or runs out of time, its columns differ from the first
// tenant's) is recorded and the rest go on. Memory stays bounded: a worker
// starts a tenant only within 4 × workers of the next one to hand on, so
// a slow tenant holds back at most that many finished results, each within
// MaxRows.
func (f FanOut) Run(ctx context.Context, sink Sink) (failed int, err error) {
	if err := f.Request.Check(); err != nil {
		return 0, err
	}
	if len(f.Tenants) == 0 {
		return 0, fleet.Errorf(fleet.EINVALID, "No tenant matches: nothing to query.")
	}
	workers := max(1, min(f.Workers, len(f.Tenants)))
	m := &merger{sink: sink, total: len(f.Tenants)}
	err = pipeline.Run(ctx, pipeline.Options{Workers: workers, Ahead: 4 * workers, Ordered: true},
		func(_ context.Context, emit func(string) bool) error {
			for _, name := range f.Tenants {
				if !emit(name) {
					break
				}
			}
			return nil
		},
		func(ctx context.Context, _ int, name string) tenantResult {
			res, err := f.one(ctx, name)
			return tenantResult{name, res, err}
		},
		func(batch []tenantResult) error {
			if err := ctx.Err(); err != nil {
				return err // stopped: the tenants finished since are not handed on
			}
			return m.add(batch[0])
		})
	if err != nil {
		return m.failed, err
	}
	if !m.sent {
		err = sink.Columns([]Column{{Name: "tenant", Type: "TEXT"}})
	}
	return m.failed, err
}

// merger hands a fan-out's results, in tenant order, to its Sink.
type merger struct {
	sink         Sink
	total        int
	cols         []Column // the first tenant's
	sent         bool     // Columns was called
	done, failed int
}

func (m *merger) add(r tenantResult) error {
	m.done++
	if r.err == nil && m.cols != nil && !sameColumns(m.cols, r.res.Columns) {
		r.err = fleet.Errorf(fleet.EINVALID, "Its columns (%s) differ from the first tenant's (%s).", columnNames(r.res.Columns), columnNames(m.cols))
	}
	if r.err != nil {
		m.failed++
		if err := m.sink.Fail(TenantError{Tenant: r.tenant, Error: fleet.ErrorMessage(r.err)}); err != nil {
			return err
		}
	} else {
		if m.cols == nil {
			m.cols = r.res.Columns
		}
		if !m.sent {
			if err := m.sink.Columns(append([]Column{{Name: "tenant", Type: "TEXT"}}, m.cols...)); err != nil {
				return err
			}
			m.sent = true
		}
		for _, row := range r.res.Rows {
			if err := m.sink.Row(r.tenant, row); err != nil {
				return err
			}
		}
		if r.res.Truncated {
			if err := m.sink.TenantTruncated(r.tenant); err != nil {
				return err
			}
		}
	}
	m.sink.Progress(m.done, m.failed, m.total)
	return nil
}

// one runs the query on one tenant.
func (f FanOut) one(ctx context.Context, tenant string) (*Result, error) {
	c, err := f.Open(ctx, tenant)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return Run(ctx, c, f.Request, f.Limits)
}

func sameColumns(a, b []Column) bool {
	return slices.EqualFunc(a, b, func(x, y Column) bool { return x.Name == y.Name })
}

func columnNames(cols []Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return fmt.Sprintf("%q", strings.Join(names, ", "))
}

// Select picks the tenants of a fan-out from names (the registry's ready
// tenants, sorted): all of them, those matching a glob pattern (path.Match:
// "store-*", "shop-?"), or those in a list (separated by commas, spaces
// or lines). An unknown name in a list is an error, so a typo is not
// silently left out.
func Select(names []string, pattern, list string) ([]string, error) {
	pattern, list = strings.TrimSpace(pattern), strings.TrimSpace(list)
	switch {
	case pattern != "" && list != "":
		return nil, fleet.Errorf(fleet.EINVALID, "Choose tenants by a pattern or by a list, not both.")
	case pattern != "":
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, fleet.Errorf(fleet.EINVALID, "The pattern %q is not valid: use * and ? as wildcards.", fleet.Truncate(pattern, 70))
		}
		var out []string
		for _, n := range names {
			if ok, _ := path.Match(pattern, n); ok {
				out = append(out, n)
			}
		}
		return out, nil
	case list != "":
		known := make(map[string]bool, len(names))
		for _, n := range names {
			known[n] = true
		}
		var out []string
		seen := map[string]bool{}
		for _, n := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			if err := fleet.ValidateName(n); err != nil {
				return nil, err
			}
			if !known[n] {
				return nil, fleet.Errorf(fleet.ENOTFOUND, "No ready tenant named %q.", n)
			}
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out, nil
	}
	return names, nil
}

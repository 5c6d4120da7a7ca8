package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/fleet"
)

// TenantQuery filters and pages a listing of the registry.
type TenantQuery struct {
	Status string // only tenants in this status; "" for all
	Prefix string // only names starting with this
	Limit  int    // tenants a page; 0 for the server's default
	Cursor string // next_cursor of the previous page; "" for the first
}

func (q TenantQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"status": q.Status, "prefix": q.Prefix, "cursor": q.Cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// ListTenants returns one page of the registry in name order; its
// NextCursor, if not nil, is the Cursor of the next page.
func (c *Client) ListTenants(ctx context.Context, q TenantQuery) (*api.TenantPage, error) {
	path := "/tenants"
	if v := q.values().Encode(); v != "" {
		path += "?" + v
	}
	var p api.TenantPage
	if _, err := c.Do(ctx, http.MethodGet, path, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Tenants yields every tenant the query matches, page after page from
// q.Cursor, and stops at the first error (yielded last). Pages follow the
// name order, so a tenant created or deleted meanwhile never makes
// another one be skipped or repeated.
func (c *Client) Tenants(ctx context.Context, q TenantQuery) iter.Seq2[fleet.Tenant, error] {
	return func(yield func(fleet.Tenant, error) bool) {
		for {
			p, err := c.ListTenants(ctx, q)
			if err != nil {
				yield(fleet.Tenant{}, err)
				return
			}
			for _, t := range p.Tenants {
				if !yield(t, nil) {
					return
				}
			}
			if p.NextCursor == nil {
				return
			}
			if *p.NextCursor == q.Cursor {
				yield(fleet.Tenant{}, fmt.Errorf("the console gave the same cursor twice (%q): the listing would never end", q.Cursor))
				return
			}
			q.Cursor = *p.NextCursor
		}
	}
}

// AllTenants collects every page of the listing (never nil).
func (c *Client) AllTenants(ctx context.Context, q TenantQuery) ([]fleet.Tenant, error) {
	ts := []fleet.Tenant{}
	for t, err := range c.Tenants(ctx, q) {
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// GetTenant returns one tenant.
func (c *Client) GetTenant(ctx context.Context, name string) (*fleet.Tenant, error) {
	var t fleet.Tenant
	if _, err := c.Do(ctx, http.MethodGet, "/tenants/"+url.PathEscape(name), nil, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// Outcome is the answer to a call that queues a job on a tenant: the
// tenant, when the job succeeded within the wait asked for, else the job
// (still running, or failed: Settle and AwaitJob turn that into an error).
type Outcome struct {
	Tenant *fleet.Tenant
	Job    *fleet.Job
	// Replayed: an Idempotency-Key the console had seen; nothing new was
	// queued.
	Replayed bool
}

// JobError is a job that failed; its message is the job's error, as the
// CLI reports it when the job runs locally.
type JobError struct{ Job *fleet.Job }

func (e *JobError) Error() string {
	if e.Job.Error == "" {
		return fmt.Sprintf("Job %d (%s) failed.", e.Job.ID, e.Job.Kind)
	}
	return e.Job.Error
}

// CreateTenant asks for a new tenant at the latest schema, or, with from,
// a branch of that tenant (as of at, if not zero). idempotencyKey ("" for
// none) makes the same request sent again answer with the first one's job
// instead of making a second tenant; wait (at most api.MaxWait) is how
// long the console may hold the call for the tenant to be ready.
func (c *Client) CreateTenant(ctx context.Context, name, from string, at time.Time, idempotencyKey string, wait time.Duration) (*Outcome, error) {
	req := api.CreateTenant{Name: name, From: from}
	if !at.IsZero() {
		req.At = at.UTC().Format(time.RFC3339Nano)
	}
	var h []string
	if idempotencyKey != "" {
		h = []string{"Idempotency-Key", idempotencyKey}
	}
	return c.jobCall(ctx, http.MethodPost, "/tenants"+waitQuery(wait), req, h...)
}

// DeleteTenant queues a tenant's deletion (archived where the platform
// can, restorable); the outcome's tenant is the archived one.
func (c *Client) DeleteTenant(ctx context.Context, name string, wait time.Duration) (*Outcome, error) {
	return c.jobCall(ctx, http.MethodDelete, "/tenants/"+url.PathEscape(name)+waitQuery(wait), nil)
}

// RestoreTenant queues bringing an archived tenant back.
func (c *Client) RestoreTenant(ctx context.Context, name string, wait time.Duration) (*Outcome, error) {
	return c.jobCall(ctx, http.MethodPost, "/tenants/"+url.PathEscape(name)+"/restore"+waitQuery(wait), nil)
}

func waitQuery(wait time.Duration) string {
	if wait <= 0 {
		return ""
	}
	return "?wait=" + min(wait, api.MaxWait).String()
}

// jobCall makes a call answered by a tenant (200, 201) or a job (202).
func (c *Client) jobCall(ctx context.Context, method, path string, in any, header ...string) (*Outcome, error) {
	var raw json.RawMessage
	res, err := c.Do(ctx, method, path, in, &raw, header...)
	if err != nil {
		return nil, err
	}
	o := &Outcome{Replayed: res.Header.Get("Idempotent-Replayed") == "true"}
	if res.StatusCode == http.StatusAccepted {
		o.Job = new(fleet.Job)
		err = json.Unmarshal(raw, o.Job)
	} else {
		o.Tenant = new(fleet.Tenant)
		err = json.Unmarshal(raw, o.Tenant)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: the console's answer is not the JSON expected: %w", method, path, err)
	}
	return o, nil
}

// AwaitJob long-polls a job until it finishes and returns it; a failed
// job is returned with a *JobError.
func (c *Client) AwaitJob(ctx context.Context, id int64) (*fleet.Job, error) {
	for {
		var j fleet.Job
		if _, err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/jobs/%d?wait=%s", id, api.MaxWait), nil, &j); err != nil {
			return nil, err
		}
		if j.Finished() {
			if j.State == fleet.JobFailed {
				return &j, &JobError{Job: &j}
			}
			return &j, nil
		}
		// The console answers a long poll early only when the wait is
		// over (or a proxy cut it short); poll again unless we are done.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// Settle waits for an outcome's job, if it has one, and returns the tenant
// it left: o.Tenant at once, or, once the job succeeded, the tenant as it
// is then. A failed job is a *JobError.
func (c *Client) Settle(ctx context.Context, o *Outcome) (*fleet.Tenant, error) {
	if o.Tenant != nil {
		return o.Tenant, nil
	}
	j := o.Job
	if j.State == fleet.JobFailed {
		return nil, &JobError{Job: j}
	}
	if !j.Finished() {
		var err error
		if j, err = c.AwaitJob(ctx, j.ID); err != nil {
			return nil, err
		}
	}
	return c.GetTenant(ctx, j.Tenant)
}

// Export writes a consistent SQLite copy of a tenant to w and returns its
// size. The console makes the whole copy before sending a byte, so an
// error (unknown tenant, not ready) arrives before anything is written.
func (c *Client) Export(ctx context.Context, name string, w io.Writer) (int64, error) {
	res, err := c.Stream(ctx, http.MethodGet, "/tenants/"+url.PathEscape(name)+"/export", nil)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	n, err := io.Copy(w, res.Body)
	if err == nil && res.ContentLength >= 0 && n != res.ContentLength {
		err = fmt.Errorf("the export of %s ended after %d of %d bytes", name, n, res.ContentLength)
	}
	if err != nil {
		return n, fmt.Errorf("download the export of %s: %w", name, err)
	}
	return n, nil
}

// Import makes a new tenant from the SQLite file read from r, size bytes
// long, streamed as the body (never held in memory), and returns it once
// it is ready.
func (c *Client) Import(ctx context.Context, name string, r io.Reader, size int64) (*fleet.Tenant, error) {
	res, err := c.stream(ctx, http.MethodPut, "/tenants/"+url.PathEscape(name)+"/import", r, size,
		"Content-Type", "application/vnd.sqlite3")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var t fleet.Tenant
	if err := json.NewDecoder(res.Body).Decode(&t); err != nil {
		return nil, fmt.Errorf("PUT /tenants/%s/import: the console's answer is not the JSON expected: %w", name, err)
	}
	return &t, nil
}

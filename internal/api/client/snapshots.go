package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/fleet"
)

// TakeSnapshots runs a snapshot run of the fleet (tenant "") or of one
// tenant to its end and returns it, with its failed tenants. A run whose
// job failed is a *JobError.
func (c *Client) TakeSnapshots(ctx context.Context, tenant string) (*fleet.SnapshotRun, error) {
	var run fleet.SnapshotRun
	res, err := c.Do(ctx, http.MethodPost, "/snapshots"+waitQuery(api.MaxWait), api.SnapshotRequest{Tenant: tenant}, &run)
	if err != nil {
		return nil, err
	}
	// The job says whether the run itself failed, in its own words.
	if _, err := c.AwaitJob(ctx, run.JobID); err != nil {
		return nil, err
	}
	if res.StatusCode == http.StatusOK {
		return &run, nil
	}
	return c.SnapshotRun(ctx, run.ID)
}

// SnapshotRun returns a snapshot run and its failed tenants.
func (c *Client) SnapshotRun(ctx context.Context, id int64) (*fleet.SnapshotRun, error) {
	var run fleet.SnapshotRun
	if _, err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/snapshots/runs/%d", id), nil, &run); err != nil {
		return nil, err
	}
	return &run, nil
}

// TenantSnapshots lists a tenant's snapshots newest first, at most limit
// (0: the server's default). With at not zero, only those taken at or
// before at, the one a restore at that time uses first; a time in the
// future, or none that old, is refused as the restore would be.
func (c *Client) TenantSnapshots(ctx context.Context, name string, at time.Time, limit int) ([]fleet.Snapshot, error) {
	v := url.Values{}
	if !at.IsZero() {
		v.Set("at", at.UTC().Format(time.RFC3339Nano))
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	path := "/tenants/" + url.PathEscape(name) + "/snapshots"
	if q := v.Encode(); q != "" {
		path += "?" + q
	}
	var l api.SnapshotList
	if _, err := c.Do(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	return l.Snapshots, nil
}

// NewestSnapshots returns the newest snapshot of every tenant that has
// one, in name order (never nil), reading pages of pageSize (0: the most
// the console gives).
func (c *Client) NewestSnapshots(ctx context.Context, pageSize int) ([]fleet.Snapshot, error) {
	if pageSize <= 0 || pageSize > api.MaxPage {
		pageSize = api.MaxPage
	}
	out := []fleet.Snapshot{}
	cursor := ""
	for {
		path := "/snapshots?limit=" + strconv.Itoa(pageSize)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var p api.SnapshotPage
		if _, err := c.Do(ctx, http.MethodGet, path, nil, &p); err != nil {
			return nil, err
		}
		out = append(out, p.Snapshots...)
		if p.NextCursor == nil {
			return out, nil
		}
		if *p.NextCursor == cursor {
			return nil, fmt.Errorf("the console gave the same cursor twice (%q): the listing would never end", cursor)
		}
		cursor = *p.NextCursor
	}
}

// RollbackTenant queues rolling a live tenant back to its newest snapshot
// taken at or before at; wait is how long the console may hold the call
// for it to be done.
func (c *Client) RollbackTenant(ctx context.Context, name string, at time.Time, wait time.Duration) (*Outcome, error) {
	return c.jobCall(ctx, http.MethodPost, "/tenants/"+url.PathEscape(name)+"/restore"+waitQuery(wait),
		api.RestoreRequest{At: at.UTC().Format(time.RFC3339Nano)})
}

// VerifySnapshots runs the restore drill on the newest snapshot of sample
// tenants picked at random (0: every one), or of tenant alone.
func (c *Client) VerifySnapshots(ctx context.Context, tenant string, sample int) (*api.DrillReport, error) {
	var r api.DrillReport
	if _, err := c.Do(ctx, http.MethodPost, "/snapshots/verify", api.VerifyRequest{Tenant: tenant, Sample: &sample}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Backups returns the state of the fleet's backups, with the newest runs
// (0: the server's default number).
func (c *Client) Backups(ctx context.Context, runs int) (*api.BackupStatus, error) {
	path := "/backups"
	if runs > 0 {
		path += "?runs=" + strconv.Itoa(runs)
	}
	var st api.BackupStatus
	if _, err := c.Do(ctx, http.MethodGet, path, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

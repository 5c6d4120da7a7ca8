package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/central"
)

// MigrationStatus returns the fleet's schema status.
func (c *Client) MigrationStatus(ctx context.Context) (*api.MigrationStatus, error) {
	var st api.MigrationStatus
	if _, err := c.Do(ctx, http.MethodGet, "/migrations", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// StartRollout queues a rollout.
func (c *Client) StartRollout(ctx context.Context, r api.RolloutRequest) (*central.MigrationRun, error) {
	var run central.MigrationRun
	if _, err := c.Do(ctx, http.MethodPost, "/migrations/rollouts", r, &run); err != nil {
		return nil, err
	}
	return &run, nil
}

// Rollout returns a rollout with its groups and every per-tenant result,
// read a page at a time.
func (c *Client) Rollout(ctx context.Context, id int64) (*api.Rollout, error) {
	var out *api.Rollout
	cursor := ""
	for {
		path := fmt.Sprintf("/migrations/rollouts/%d", id)
		if cursor != "" {
			path += "?cursor=" + url.QueryEscape(cursor)
		}
		var page api.Rollout
		if _, err := c.Do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		if out == nil {
			out = &page
		} else {
			out.Results = append(out.Results, page.Results...)
		}
		if page.NextCursor == nil {
			out.NextCursor = nil
			return out, nil
		}
		cursor = *page.NextCursor
	}
}

package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
)

// Collect queues a collection of the days from..to (YYYY-MM-DD, both or
// neither).
func (c *Client) Collect(ctx context.Context, from, to string) (*central.CollectRun, error) {
	var run central.CollectRun
	if _, err := c.Do(ctx, http.MethodPost, "/collections", api.CollectionRequest{From: from, To: to}, &run); err != nil {
		return nil, err
	}
	return &run, nil
}

// Collection returns a collection run and its failed tenants.
func (c *Client) Collection(ctx context.Context, id int64) (*collect.Summary, error) {
	var s collect.Summary
	if _, err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/collections/%d", id), nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// WaitRunJob long-polls the job running a collection or a rollout until
// it finished.
func (c *Client) WaitRunJob(ctx context.Context, id int64) (*fleet.Job, error) {
	for {
		var j fleet.Job
		if _, err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/jobs/%d?wait=%s", id, api.MaxWait), nil, &j); err != nil {
			return nil, err
		}
		if j.Finished() {
			return &j, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

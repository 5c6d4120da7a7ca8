package collect

import (
	"context"
	"database/sql"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// QueryForPlan exposes the metrics query to the plan test.
var QueryForPlan, DayQueryForPlan = rangeQuery, dayQuery

// Read returns a store's metrics for every day from..to (inclusive), one
// entry per day in order, zeros included, as a collection reads them from
// a local store.
func Read(ctx context.Context, db *sql.DB, tenant string, from, to time.Time) ([]fleet.Metrics, error) {
	r, err := readMain(ctx, db, tenant, from, to)
	return r.metrics, err
}

package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/reports"
)

// TestOneClock: the API reads the central database's clock, as the
// console does: a collection without dates covers yesterday and today by
// it, the run is recorded at its time, and the reports end on its today.
func TestOneClock(t *testing.T) {
	e := newEnv(t, nil)
	at := time.Date(2025, 7, 15, 22, 30, 0, 0, time.UTC) // in the past: a real clock would disagree
	e.clock.Set(at)

	var run central.CollectRun
	e.call(e.admin, "POST", "/api/v1/collections", obj{}).want(t, http.StatusAccepted).json(t, &run)
	if run.From != "2025-07-14" || run.To != "2025-07-15" {
		t.Errorf("collection without dates covers %s..%s, want 2025-07-14..2025-07-15", run.From, run.To)
	}
	if stored, err := e.db.CollectRunByID(t.Context(), run.ID); err != nil || !stored.StartedAt.Equal(at) {
		t.Errorf("run recorded as started at %v (%v), want %s", stored, err, at)
	}

	var daily reports.DailyActivity
	e.call(e.viewer, "GET", "/api/v1/reports/daily-activity", nil).want(t, http.StatusOK).json(t, &daily)
	if daily.To != "2025-07-15" {
		t.Errorf("daily activity ends on %s, want today 2025-07-15", daily.To)
	}
}

package pages

import (
	"fmt"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/views/components"
	"github.com/tenantry/tenantry/views/layouts"
)

// dash shows "—" for an empty value.
func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// jobLabel is the job's label, falling back to its kind and id.
func jobLabel(j JobRow) string {
	if j.Label != "" {
		return j.Label
	}
	if j.Kind != "" {
		return fmt.Sprintf("%s #%d", j.Kind, j.ID)
	}
	return fmt.Sprintf("Job #%d", j.ID)
}

// jobStep is the current step with its counts, e.g. "Copying pages (40/100)".
func jobStep(j JobRow) string {
	step := j.Step
	if step == "" {
		step = "—"
	}
	if j.Total > 0 && !j.Finished() {
		step += fmt.Sprintf(" (%s/%s)", components.Int(j.Done), components.Int(j.Total))
	}
	return step
}

// jobCounts is "40 / 100" for a job that reports its total.
func jobCounts(j JobRow) string {
	return components.Int(j.Done) + " / " + components.Int(j.Total)
}

// hasSideCards reports whether a tenant's page has action cards next to its
// details; without any the details take the full width.
func hasSideCards(p layouts.Page, t TenantRow) bool {
	return t.Status == fleet.StatusReady || (t.Status == fleet.StatusArchived || t.Status == fleet.StatusMissing) && p.IsAdmin()
}

// sizeText is a tenant's size, or a dash where the platform does not tell
// it in its list (sqld: the tenant page's Usage card has its storage). A
// SQLite database with a schema is never empty.
func sizeText(n int64) string {
	if n == 0 {
		return "—"
	}
	return components.Bytes(n)
}

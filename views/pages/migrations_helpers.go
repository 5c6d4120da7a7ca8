package pages

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/paths"
	"github.com/tenantry/tenantry/views/components"
)

// rolloutURL is a rollout's page.
func rolloutURL(id int64) templ.SafeURL { return templ.URL(paths.Rollout(id)) }

// rolloutProgressURL is the fragment htmx polls while a rollout goes on;
// compact is the copy on "/migrations".
func rolloutProgressURL(id int64, compact bool) string {
	u := paths.RolloutProgress(id)
	if compact {
		u += "?compact=1"
	}
	return u
}

// rolloutPageURL is a rollout's page with its result filter and cursors;
// empty values are left out.
func rolloutPageURL(id int64, outcome, after, failedAfter string) templ.SafeURL {
	q := url.Values{}
	if outcome != "" {
		q.Set("outcome", outcome)
	}
	if after != "" {
		q.Set("after", after)
	}
	if failedAfter != "" {
		q.Set("failed_after", failedAfter)
	}
	return templ.URL(paths.WithQuery(paths.Rollout(id), q))
}

// modeLabel names a rollout's mode for people.
func modeLabel(r RolloutRow) string {
	switch r.Mode {
	case RolloutDryRun:
		return "Dry run"
	case RolloutCanary:
		return fmt.Sprintf("Canary (%s)", components.Plural(int64(len(r.Tenants)), "tenant", "tenants"))
	case RolloutFull:
		return "Full rollout"
	case "retry":
		return fmt.Sprintf("Retry (%s)", components.Plural(int64(len(r.Tenants)), "tenant", "tenants"))
	}
	return dash(r.Mode)
}

// onErrorLabel says what a rollout does when a tenant fails.
func onErrorLabel(s string) string {
	switch s {
	case "continue":
		return "continue and report failures"
	case "stop", "":
		return "stop at the first failure"
	}
	return s
}

// rolloutDuration is how long a finished rollout took, "—" before.
func rolloutDuration(r RolloutRow) string {
	if !r.Finished() {
		return "—"
	}
	return components.Duration(r.Duration)
}

// barWidth is a version's bar as a percentage of the widest, never so
// thin that a version with tenants disappears.
func barWidth(bars []VersionBar, b VersionBar) string {
	var most int64
	for _, x := range bars {
		most = max(most, x.Tenants)
	}
	if most <= 0 || b.Tenants <= 0 {
		return "0"
	}
	pct := float64(b.Tenants) * 100 / float64(most)
	return strconv.FormatFloat(max(pct, 1), 'f', 1, 64) + "%"
}

// formMode is the chosen mode of the start form: a dry run unless told.
func formMode(f RolloutForm) string {
	if f.Mode == "" {
		return RolloutDryRun
	}
	return f.Mode
}

// canRetry reports whether a rollout's failed tenants can be retried.
func canRetry(r RolloutRow) bool {
	return r.Finished() && r.Failed > 0 && !r.DryRun()
}

// canContinue reports whether a rollout was a good rehearsal for the full
// rollout: a canary or dry run that succeeded.
func canContinue(r RolloutRow) bool {
	return r.State == fleet.RunSucceeded && (r.Mode == RolloutCanary || r.DryRun())
}

// versionChange is "v1 → v2", "v2" when it did not change, "v1 → ?" when
// the database did not say.
func versionChange(r RolloutResult) string {
	from := "v" + strconv.FormatInt(r.From, 10)
	if r.From < 0 {
		from = "?"
	}
	switch {
	case r.To < 0:
		return from + " → ?"
	case r.To == r.From:
		return from
	}
	return from + " → v" + strconv.FormatInt(r.To, 10)
}

type outcomeTab struct{ Outcome, Label string }

// outcomeTabs are the result filters a rollout's page offers.
func outcomeTabs(r RolloutRow) []outcomeTab {
	tabs := []outcomeTab{{"", "All but failed"}}
	if r.DryRun() {
		tabs = append(tabs, outcomeTab{fleet.OutcomePending, "Would migrate"})
	} else {
		tabs = append(tabs, outcomeTab{fleet.OutcomeMigrated, "Migrated"})
	}
	return append(tabs, outcomeTab{fleet.OutcomeSkipped, "Skipped"}, outcomeTab{fleet.OutcomeFailed, "Failed"})
}

func tabID(outcome string) string {
	if outcome == "" {
		return "all"
	}
	return outcome
}

// schemaSummary is a tenant's version against the latest in a few words.
func schemaSummary(vm TenantSchema) string {
	v := "v" + strconv.FormatInt(vm.Version, 10)
	switch {
	case vm.Error != "":
		return v + " in the registry; latest v" + strconv.FormatInt(vm.Latest, 10)
	case vm.Version == vm.Latest && len(vm.Pending) == 0:
		return v + ", up to date"
	case len(vm.Pending) > 0:
		return fmt.Sprintf("%s; latest v%d, %d pending", v, vm.Latest, len(vm.Pending))
	}
	return fmt.Sprintf("%s; latest v%d", v, vm.Latest)
}

// schemaState is the tenant details' note on its schema: "latest 2, 1
// pending" or "up to date".
func schemaState(t TenantRow) string {
	if t.SchemaVersion >= t.LatestVersion && t.Pending == 0 {
		return "up to date"
	}
	return fmt.Sprintf("latest %d, %d pending", t.LatestVersion, t.Pending)
}

func (vm Migrations) failedMore() int64 { return max(0, vm.Failed-int64(len(vm.FailedList))) }
func (vm Migrations) behindMore() int64 { return max(0, vm.Behind-int64(len(vm.BehindList))) }

// outcomeClass is the badge class of a result's outcome.
func outcomeClass(outcome string) string {
	switch outcome {
	case fleet.OutcomeMigrated, fleet.OutcomeFailed, fleet.OutcomeSkipped, fleet.OutcomePending:
		return "badge-" + outcome
	}
	return "badge-unknown"
}

// outcomeLabel names an outcome for people.
func outcomeLabel(outcome string) string {
	if outcome == fleet.OutcomePending {
		return "would migrate"
	}
	return dash(outcome)
}

// resultDuration is how long a tenant took, "—" when not recorded.
func resultDuration(r RolloutResult) string {
	switch {
	case r.Duration <= 0:
		return "—"
	case r.Duration < 500*time.Microsecond:
		return "<1 ms"
	}
	return components.Duration(r.Duration)
}

package pages

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

func sampleRuns(now time.Time) []RunRow {
	return []RunRow{
		{ID: 12, From: "2026-11-20", To: "2026-11-21", Trigger: "manual", StartedBy: "a@example.com", State: "running",
			Tenants: 10, OK: 3, Failed: 1, StartedAt: now.Add(-time.Minute), Duration: 2 * time.Second},
		{ID: 11, From: "2026-11-19", To: "2026-11-19", Trigger: "schedule", State: "failed", Tenants: 10, OK: 7, Failed: 3,
			Error: "central database: disk I/O error", StartedAt: now.Add(-time.Hour), FinishedAt: now.Add(-time.Hour), Duration: 1234 * time.Millisecond},
		{ID: 10, From: "2026-11-18", To: "2026-11-19", Trigger: "cli", State: "succeeded", Tenants: 10, OK: 8, Skipped: 2, RowsWritten: 16000,
			StartedAt: now.Add(-2 * time.Hour), FinishedAt: now.Add(-2 * time.Hour), Duration: 250 * time.Millisecond},
	}
}

func TestCollectionsPage(t *testing.T) {
	now := time.Now()
	runs := sampleRuns(now)
	vm := Collections{Runs: runs, Page: 2, PageSize: 3, Total: 9, From: "2026-11-01", To: "2026-11-21",
		FormError: "The range ends before it starts.", Running: &runs[0], Schedule: "every 1h0m0s, yesterday and today"}
	doc := render(t, CollectionsPage(admin("Metrics collection", "collections"), vm))

	if got := doc.Find(`[data-testid="schedule"]`).Text(); got != vm.Schedule {
		t.Errorf("schedule %q", got)
	}
	running := doc.Find(`[data-testid="running-run"]`)
	if href, _ := running.Find("a").Attr("href"); href != "/collections/12" || !strings.Contains(running.Text(), "40%") {
		t.Errorf("running notice %q links to %q", running.Text(), href)
	}

	// Collect now: a POST form without from/to.
	now1 := doc.Find(`form:has([data-testid="collect-now"])`)
	if a, _ := now1.Attr("action"); a != "/collections" || now1.AttrOr("method", "") != "post" {
		t.Errorf("collect now form posts to %q", a)
	}
	if now1.Find(`[name="from"], [name="to"]`).Length() != 0 {
		t.Error("collect now form sends a range")
	}
	if got := strings.TrimSpace(now1.Find(`[data-testid="collect-now"]`).Text()); got != "Collect now (yesterday and today)" {
		t.Errorf("collect now button %q", got)
	}
	bf := doc.Find(`form[data-testid="backfill-form"]`)
	if a, _ := bf.Attr("action"); a != "/collections" || bf.AttrOr("method", "") != "post" {
		t.Errorf("backfill form posts to %q", a)
	}
	if v, _ := bf.Find(`input[type="date"][name="from"]`).Attr("value"); v != "2026-11-01" {
		t.Errorf("from %q", v)
	}
	if v, _ := bf.Find(`input[type="date"][name="to"]`).Attr("value"); v != "2026-11-21" {
		t.Errorf("to %q", v)
	}
	if bf.Find(`[data-testid="backfill-button"]`).Length() != 1 {
		t.Error("no backfill button")
	}
	if got := bf.Find(`[data-testid="inline-error"]`).Text(); got != vm.FormError {
		t.Errorf("inline error %q", got)
	}
	assertPostFormsHaveCSRF(t, doc)

	// Runs table.
	rows := doc.Find(`[data-testid="runs-table"] tr[data-testid="run-row"]`)
	if rows.Length() != 3 {
		t.Fatalf("%d run rows", rows.Length())
	}
	r12 := doc.Find(`tr[data-testid="run-row"][data-id="12"]`)
	if r12.AttrOr("data-state", "") != "running" {
		t.Error("run 12 data-state")
	}
	if href, _ := r12.Find(`a[href="/collections/12"]`).Attr("href"); href == "" {
		t.Error("run 12 not linked")
	}
	if got := r12.Find(`[data-testid="run-range"]`).Text(); got != "2026-11-20 → 2026-11-21" {
		t.Errorf("range %q", got)
	}
	if got := r12.Find(`[data-testid="run-duration"]`).Text(); got != "—" {
		t.Errorf("running duration %q", got)
	}
	if !r12.Find(`.badge`).HasClass("badge-running") {
		t.Error("running badge")
	}
	r11 := doc.Find(`tr[data-id="11"]`)
	if got := r11.Find(`[data-testid="run-range"]`).Text(); got != "2026-11-19" {
		t.Errorf("one-day range %q", got)
	}
	if got := r11.Find(`[data-testid="run-duration"]`).Text(); got != "1.2 s" {
		t.Errorf("duration %q", got)
	}
	if f := r11.Find(`[data-testid="run-failed"]`); f.Text() != "3" || !f.HasClass("count-failed") {
		t.Errorf("failed count %q not highlighted", f.Text())
	}
	if !r11.Find(`.badge`).HasClass("badge-failed") {
		t.Error("failed badge")
	}
	r10 := doc.Find(`tr[data-id="10"]`)
	if f := r10.Find(`[data-testid="run-failed"]`); f.Text() != "0" || f.HasClass("count-failed") {
		t.Error("zero failures highlighted")
	}
	if got := r10.Find(`[data-testid="run-duration"]`).Text(); got != "250 ms" {
		t.Errorf("duration %q", got)
	}
	if got := r10.Find(`[data-testid="run-rows"]`).Text(); got != "16,000" {
		t.Errorf("rows written %q", got)
	}
	if got := strings.Join(strings.Fields(r10.Find(`[data-testid="run-counts"]`).Text()), " "); got != "8 / 0 / 2" {
		t.Errorf("counts %q", got)
	}
	if href, _ := doc.Find(`[data-testid="pagination"] [data-testid="page-next"]`).Attr("href"); href != "/collections?page=3" {
		t.Errorf("next page %q", href)
	}
	if href, _ := doc.Find(`[data-testid="pagination"] [data-testid="page-prev"]`).Attr("href"); href != "/collections?page=1" {
		t.Errorf("previous page %q", href)
	}
	if count(doc, `script:not([src])`) != 0 || count(doc, `[style]`) != 0 {
		t.Error("inline script or style would break the CSP")
	}
	if !doc.Find(`[data-testid="nav-collections"]`).HasClass("active") {
		t.Error("collections nav entry not active")
	}

	// A viewer sees the runs but no forms.
	doc = render(t, CollectionsPage(viewer("Metrics collection", "collections"), vm))
	if count(doc, `[data-testid="collect-now"]`)+count(doc, `[data-testid="backfill-form"]`)+count(doc, `form[action="/collections"]`) != 0 {
		t.Error("viewer sees the collect forms")
	}
	if count(doc, `tr[data-testid="run-row"]`) != 3 || count(doc, `[data-testid="running-run"]`) != 1 {
		t.Error("viewer does not see the runs")
	}
}

func TestCollectionsPageEmpty(t *testing.T) {
	vm := Collections{Page: 1, PageSize: 50, From: "2026-11-20", To: "2026-11-21", Schedule: "off"}
	for _, p := range []struct {
		name   string
		forms  int
		render func() *goquery.Document
	}{
		{"admin", 1, func() *goquery.Document {
			return render(t, CollectionsPage(admin("Metrics collection", "collections"), vm))
		}},
		{"viewer", 0, func() *goquery.Document {
			return render(t, CollectionsPage(viewer("Metrics collection", "collections"), vm))
		}},
	} {
		doc := p.render()
		if got := doc.Find(`[data-testid="empty-state"] .empty-title`).Text(); got != "No collections yet" {
			t.Errorf("%s: empty title %q", p.name, got)
		}
		if !strings.Contains(doc.Find(`[data-testid="empty-state"]`).Text(), "tenantry collect") {
			t.Errorf("%s: empty state does not mention tenantry collect", p.name)
		}
		if count(doc, `[data-testid="runs-table"]`)+count(doc, `[data-testid="pagination"]`)+count(doc, `[data-testid="running-run"]`) != 0 {
			t.Errorf("%s: table, pagination or running notice on an empty list", p.name)
		}
		if got := count(doc, `[data-testid="collect-now"]`); got != p.forms {
			t.Errorf("%s: %d collect buttons", p.name, got)
		}
		if got := doc.Find(`[data-testid="schedule"]`).Text(); got != "off" {
			t.Errorf("%s: schedule %q", p.name, got)
		}
	}
}

func sampleRun(state string) CollectionRun {
	vm := CollectionRun{
		Run: RunRow{ID: 7, From: "2026-11-20", To: "2026-11-21", Trigger: "manual", StartedBy: "a@example.com", State: state,
			Tenants: 30, OK: 25, Failed: 3, Skipped: 2, RowsWritten: 50, StartedAt: time.Now().Add(-time.Minute),
			Duration: 73 * time.Second, JobID: 41},
		Failed: []ResultRow{
			{Tenant: "store-1", Error: "dial tcp: i/o timeout", Attempts: 3},
			{Tenant: "store-2", Error: "no such table: orders", Attempts: 1},
			{Tenant: "store-3", Error: "context deadline exceeded", Attempts: 3},
		},
		ResultLimit: 20,
	}
	if vm.Run.Finished() {
		vm.Run.FinishedAt = time.Now()
	}
	for i := range 20 {
		vm.Results = append(vm.Results, ResultRow{Tenant: fmt.Sprintf("shop-%d", i), OK: true, Attempts: 1, Duration: 40 * time.Millisecond})
	}
	return vm
}

func TestCollectionRunPage(t *testing.T) {
	vm := sampleRun("succeeded")
	doc := render(t, CollectionRunPage(admin("", "collections"), vm))
	if got := doc.Find(`[data-testid="page-title"]`).Text(); got != "Collection #7" {
		t.Errorf("title %q", got)
	}
	prog := doc.Find(`#run-progress[data-testid="run-progress"]`)
	if prog.AttrOr("data-state", "") != "succeeded" {
		t.Error("progress data-state")
	}
	if _, ok := prog.Attr("hx-get"); ok {
		t.Error("a finished run still polls")
	}
	for id, want := range map[string]string{"run-done": "30 / 30 tenants", "run-ok": "25", "run-failed-count": "3",
		"run-skipped": "2", "run-rows": "50", "run-duration": "1 min 13 s", "run-state": "succeeded"} {
		if got := strings.TrimSpace(prog.Find(`[data-testid="` + id + `"]`).Text()); got != want {
			t.Errorf("%s %q, want %q", id, got, want)
		}
	}
	if v, _ := prog.Find("progress").Attr("value"); v != "100" {
		t.Errorf("progress %q", v)
	}
	if count(doc, `[data-testid="run-error"]`) != 0 {
		t.Error("error shown for a successful run")
	}
	if href, _ := doc.Find(`[data-testid="run-job"]`).Attr("href"); href != "/jobs/41" {
		t.Errorf("job link %q", href)
	}
	if got := doc.Find(`[data-testid="run-details"] [data-testid="run-range"]`).Text(); got != "2026-11-20 → 2026-11-21" {
		t.Errorf("details range %q", got)
	}

	failed := doc.Find(`#run-results [data-testid="failed-table"] tr[data-testid="failed-row"]`)
	if failed.Length() != 3 {
		t.Fatalf("%d failed rows", failed.Length())
	}
	f2 := doc.Find(`tr[data-testid="failed-row"][data-tenant="store-2"]`)
	if href, _ := f2.Find("a").Attr("href"); href != "/tenants/store-2" || !strings.Contains(f2.Text(), "no such table: orders") {
		t.Errorf("failed row %q links to %q", f2.Text(), href)
	}
	if count(doc, `[data-testid="no-failures"]`) != 0 {
		t.Error("no-failures note next to failures")
	}
	if got := count(doc, `#run-results [data-testid="results-table"] tr[data-testid="result-row"]`); got != 20 {
		t.Errorf("%d result rows", got)
	}
	if got := doc.Find(`[data-testid="results-truncated"]`).Text(); got != "Showing the first 20 of 25." {
		t.Errorf("truncated note %q", got)
	}
	if got := doc.Find(`[data-testid="skipped-note"]`).Text(); got != "2 tenants skipped: unchanged since their last collection of these days." {
		t.Errorf("skipped note %q", got)
	}
	if count(doc, `script:not([src])`) != 0 || count(doc, `[style]`) != 0 {
		t.Error("inline script or style would break the CSP")
	}

	// Finished without failures: the success note; every result shown, no
	// truncation note; no skipped line.
	vm.Failed, vm.Run.Failed, vm.Run.OK, vm.Run.Skipped = nil, 0, 20, 0
	doc = render(t, CollectionRunPage(admin("", "collections"), vm))
	if count(doc, `[data-testid="failed-table"]`) != 0 || count(doc, `[data-testid="no-failures"]`) != 1 {
		t.Error("no-failures note missing")
	}
	if count(doc, `[data-testid="results-truncated"]`)+count(doc, `[data-testid="skipped-note"]`) != 0 {
		t.Error("truncated or skipped note shown")
	}

	// A failed run shows its error.
	vm.Run.State, vm.Run.Error = "failed", "central database: disk I/O error"
	doc = render(t, CollectionRunPage(admin("", "collections"), vm))
	if got := doc.Find(`[data-testid="run-error"]`).Text(); !strings.Contains(got, vm.Run.Error) {
		t.Errorf("run error %q", got)
	}
}

func TestCollectionProgressPollsUntilFinished(t *testing.T) {
	vm := sampleRun("running")
	vm.Run.Tenants, vm.Run.OK, vm.Run.Failed, vm.Run.Skipped = 50, 15, 3, 2
	vm.Failed = vm.Failed[:0]
	doc := render(t, CollectionRunPage(admin("", "collections"), vm))
	prog := doc.Find(`#run-progress`)
	if v, _ := prog.Attr("hx-get"); v != "/collections/7/progress" {
		t.Errorf("hx-get %q", v)
	}
	if prog.AttrOr("hx-trigger", "") != "every 500ms" || prog.AttrOr("hx-swap", "") != "outerHTML" {
		t.Error("polling attributes")
	}
	if v, _ := prog.Find("progress").Attr("value"); v != "40" {
		t.Errorf("progress %q", v)
	}
	if got := prog.Find(`[data-testid="run-done"]`).Text(); got != "20 / 50 tenants" {
		t.Errorf("done %q", got)
	}
	if count(doc, `[data-testid="no-failures"]`) != 0 {
		t.Error("no-failures note while running")
	}
	if count(doc, `[data-testid="result-row"]`) != 20 {
		t.Error("results so far not shown while running")
	}

	// While running the fragment is the progress (still polling) and the
	// details' finish time, but not the results.
	doc = render(t, CollectionProgressFragment(vm))
	if _, ok := doc.Find(`#run-progress`).Attr("hx-get"); !ok {
		t.Error("running fragment does not poll")
	}
	if count(doc, `#run-results`) != 0 {
		t.Error("results swapped while running")
	}
	if count(doc, `#run-finished[hx-swap-oob="true"]`) != 1 {
		t.Error("finish time not swapped out of band")
	}

	// Finished: no polling, and the results come out of band.
	vm.Run.State, vm.Run.FinishedAt = "succeeded", time.Now()
	vm.Failed = []ResultRow{{Tenant: "store-9", Error: "boom", Attempts: 3}}
	doc = render(t, CollectionProgressFragment(vm))
	prog = doc.Find(`#run-progress`)
	for _, a := range []string{"hx-get", "hx-trigger", "hx-swap"} {
		if _, ok := prog.Attr(a); ok {
			t.Errorf("finished fragment has %s", a)
		}
	}
	oob := doc.Find(`#run-results[hx-swap-oob="true"]`)
	if oob.Length() != 1 {
		t.Fatal("results not swapped out of band once finished")
	}
	if oob.Find(`tr[data-testid="failed-row"][data-tenant="store-9"]`).Length() != 1 || oob.Find(`tr[data-testid="result-row"]`).Length() != 20 {
		t.Error("out-of-band results incomplete")
	}
	if got := doc.Find(`#run-finished`).Text(); got == "—" {
		t.Error("finish time not filled in")
	}

	// A queued run with an unknown total.
	doc = render(t, CollectionProgress(RunRow{ID: 8, State: "queued", From: "2026-11-20", To: "2026-11-20"}))
	if got := doc.Find(`[data-testid="run-done"]`).Text(); got != "0 tenants done" {
		t.Errorf("queued done %q", got)
	}
	if _, ok := doc.Find(`#run-progress`).Attr("hx-get"); !ok {
		t.Error("queued run does not poll")
	}
}

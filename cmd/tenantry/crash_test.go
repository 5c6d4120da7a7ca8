package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/tenantdb"
)

// buildBinary builds tenantry once for the tests that need a real process
// to kill.
func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tenantry")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestKillMidJob kills the tenantry process with SIGKILL at different
// moments of a create, a branch and a delete, each moment seen in the
// central database (the job queued, claimed, at each step, its tenant
// made), then runs the next command. Whatever the moment, the next command
// finishes the job: no tenant is left claiming ready while half-made, none
// is left stuck in a transitional state, a finished branch holds all the
// rows, and every job ends succeeded.
func TestKillMidJob(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	bin := buildBinary(t)
	c := newCLI(t)
	c.ok("tenants", "create", "big")
	db := openTenant(t, c, "big")
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 150000)
		INSERT INTO orders(total_amount, created_at) SELECT i, datetime('2026-01-01', '+' || (i % 300) || ' days') FROM n`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	const rows = 150000
	cdb := openCentral(t, c)
	defer cdb.Close()

	// The moments to kill at, as conditions on the job j and its tenant t.
	// Each holds from its moment on (a finished job meets them all), so a
	// command that outran the test is killed at once, after the job.
	const ended = `j.state NOT IN ('queued', 'running')`
	makes := []killPoint{
		{"queued", `1`},
		{"claimed", `j.state != 'queued'`},
		{"at its first step", `j.done >= 1 OR ` + ended},
		{"at its last step", `j.done >= 3 OR ` + ended},
		{"once the tenant is ready", `t.status = 'ready' OR ` + ended},
	}
	deletes := []killPoint{
		{"queued", `1`},
		{"archiving", `j.done >= 1 OR ` + ended},
		{"updating the registry", `j.done >= 2 OR ` + ended},
		{"once the tenant is archived", `t.status = 'archived' OR ` + ended},
	}
	submitted, kills, mid := 1, 0, 0 // "big"'s job
	kill := func(at killPoint, kind, tenant string, args ...string) {
		t.Helper()
		kills++
		if killAt(t, cdb, bin, c.data, at, kind, tenant, args...) {
			mid++
		}
		submitted++
	}
	const rounds = 6
	for i := range rounds {
		copyName, newName := fmt.Sprintf("copy-%d", i), fmt.Sprintf("new-%d", i)
		kill(makes[i%len(makes)], "tenant.clone", copyName, "tenants", "clone", "big", copyName)
		kill(makes[(i+2)%len(makes)], "tenant.create", newName, "tenants", "create", newName)
		// The next command resumes whatever the killed ones left.
		got := listed(t, c)
		for _, name := range []string{copyName, newName} {
			tn, ok := got[name]
			switch {
			case !ok:
				t.Errorf("%s: its job was queued, but the tenant is not listed", name)
			case tn.Status != "ready":
				t.Errorf("%s is %s after the next command", name, tn.Status)
			case name == copyName && countOrders(t, c, name) != rows:
				t.Errorf("branch %s has %d orders, want %d", name, countOrders(t, c, name), rows)
			case name == newName && tn.SchemaVersion != 1:
				t.Errorf("%s is ready at schema %d", name, tn.SchemaVersion)
			}
		}
		kill(deletes[i%len(deletes)], "tenant.delete", copyName, "tenants", "delete", copyName, "--yes")
		if st := listed(t, c)[copyName].Status; st != "archived" {
			t.Errorf("deleted %s is %s after the next command", copyName, st)
		}
	}
	// The test only proves something if kills landed mid-job: as most are
	// made to, however busy the machine.
	t.Logf("%d of %d kills landed mid-job", mid, kills)
	if mid < kills/3 {
		t.Errorf("only %d of %d kills landed mid-job; the test proves too little", mid, kills)
	}
	// Nothing is stuck: every job ended.
	out := c.ok("tenants", "list", "--json")
	var ts []tenantJSON
	if err := json.Unmarshal([]byte(out), &ts); err != nil {
		t.Fatal(err)
	}
	for _, tn := range ts {
		if tn.Status == "creating" || tn.Status == "deleting" {
			t.Errorf("%s stuck %s", tn.Name, tn.Status)
		}
	}
	// Every job ended well, none is left queued or running, and each one's
	// tenant is in the state its last job left it: ready, or archived by
	// a delete.
	jrows, err := cdb.Query(`SELECT j.id, j.kind, j.state, j.error, j.tenant, coalesce(t.status, ''),
		(SELECT kind FROM jobs l WHERE l.tenant = j.tenant ORDER BY l.id DESC LIMIT 1)
		FROM jobs j LEFT JOIN tenants t ON t.name = j.tenant ORDER BY j.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer jrows.Close()
	checked := 0
	for jrows.Next() {
		checked++
		var id int64
		var kind, state, msg, tenant, status, last string
		if err := jrows.Scan(&id, &kind, &state, &msg, &tenant, &status, &last); err != nil {
			t.Fatal(err)
		}
		want := "ready"
		if last == "tenant.delete" {
			want = "archived"
		}
		if state != "succeeded" || status != want {
			t.Errorf("job %d (%s %s) is %s (%q); the tenant is %q, want %q", id, kind, tenant, state, msg, status, want)
		}
	}
	if err := jrows.Err(); err != nil {
		t.Fatal(err)
	}
	if checked != submitted {
		t.Errorf("%d jobs recorded, want the %d submitted", checked, submitted)
	}
}

// killPoint is a moment of a job at which TestKillMidJob kills the
// command running it.
type killPoint struct {
	label string
	when  string // SQL condition on the job j and its tenant t
}

// killAt starts a command, waits until the central database shows its
// job (kind, tenant) at the kill point, kills the command with SIGKILL and
// reports whether the kill landed mid-job: the job left queued or
// running. A command must get as far as queuing its job.
func killAt(t *testing.T, cdb *sql.DB, bin, data string, at killPoint, kind, tenant string, args ...string) bool {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--data", data}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	q := `SELECT count(*) FROM jobs j LEFT JOIN tenants t ON t.name = j.tenant WHERE j.kind = ? AND j.tenant = ? AND (` + at.when + `)`
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	stuck := time.After(2 * time.Minute) // only a hung command takes this long
wait:
	for {
		var n int
		if err := cdb.QueryRow(q, kind, tenant).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case <-exited:
			break wait // it outran the test; its job says how far it got
		case <-stuck:
			t.Fatalf("tenantry %s: its job never got %s", strings.Join(args, " "), at.label)
		case <-poll.C:
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	var state string
	var attempts int
	err := cdb.QueryRow(`SELECT state, attempts FROM jobs WHERE kind = ? AND tenant = ?`, kind, tenant).Scan(&state, &attempts)
	if err != nil {
		t.Fatalf("tenantry %s queued no job (%v)\n%s", strings.Join(args, " "), err, stderr.String())
	}
	landed := state == "queued" || state == "running"
	t.Logf("%s %s killed %s: job %s after %d attempts", kind, tenant, at.label, state, attempts)
	return landed
}

func openCentral(t *testing.T, c *cli) *sql.DB {
	t.Helper()
	u, err := tenantdb.FileURL(filepath.Join(c.data, "central.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	db, err := tenantdb.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestKillMidCollection kills "tenantry collect" with SIGKILL at several
// moments (before it queued its job, while it reconciled the registry,
// and after each committed batch), then runs the next command, which
// resumes the interrupted job before its own. Every range is also
// collected without interruption in a copy of the same fleet. At the end
// the metrics table and its rollups equal the copy's row for row, every
// submitted collection ended with exactly one run that counted every
// tenant once, and nothing is left queued or running.
func TestKillMidCollection(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	bin := buildBinary(t)
	crash := t.TempDir()
	// A demo fleet of 100 stores, each copied seven times under another
	// name: 800 tenants (three full batches of 250 and a partial one) in
	// a few seconds instead of the minute 800 demo stores would take.
	binRun(t, bin, crash, "demo", "--stores", "100", "--days", "60", "--seed", "8")
	multiplyFleet(t, crash, 7)
	var listedTenants []tenantJSON
	if err := json.Unmarshal([]byte(binRun(t, bin, crash, "tenants", "list", "--json")), &listedTenants); err != nil {
		t.Fatal(err)
	}
	const tenants = 800
	if len(listedTenants) != tenants {
		t.Fatalf("%d tenants, want %d", len(listedTenants), tenants)
	}
	control := t.TempDir()
	copyDir(t, crash, control)

	// Each range starts a day earlier than the one before, so no tenant's
	// last collection covers it and every run reads all 800.
	today := time.Now().UTC().Truncate(24 * time.Hour)
	rangeArgs := func(k int) []string {
		return []string{"collect", "--from", today.AddDate(0, 0, -60-k).Format("2006-01-02"), "--to", today.Format("2006-01-02")}
	}
	type kill struct {
		label string
		delay time.Duration // kill after this long, or
		after int           // once this many tenants' results are committed
	}
	kills := []kill{
		{label: "at once"}, {label: "after 30 ms", delay: 30 * time.Millisecond}, {label: "after 150 ms", delay: 150 * time.Millisecond},
		{label: "after batch 1", after: 250}, {label: "after batch 2", after: 500}, {label: "after batch 3", after: 750},
	}
	for k := range kills {
		binRun(t, bin, control, rangeArgs(k)...)
	}

	cdb := openCentralDir(t, crash)
	defer cdb.Close()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := cdb.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	submitted, midRun, partial := 1, 0, 0 // the demo's collection
	for k, kl := range kills {
		jobsBefore := count(`SELECT count(*) FROM jobs WHERE kind = 'metrics.collect'`)
		// One reader at a time, so that the run lasts long enough to be
		// caught between batches on a fast machine.
		cmd := exec.Command(bin, append([]string{"--data", crash}, append(rangeArgs(k), "--collect-workers", "1")...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if kl.after > 0 {
			deadline := time.Now().Add(time.Minute)
			for time.Now().Before(deadline) && count(`SELECT count(*) FROM collection_results WHERE run_id = (SELECT max(id) FROM collection_runs)`) < kl.after {
				time.Sleep(2 * time.Millisecond)
			}
		} else {
			time.Sleep(kl.delay)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()

		var state string
		var results int
		if count(`SELECT count(*) FROM jobs WHERE kind = 'metrics.collect'`) > jobsBefore {
			submitted++
			if err := cdb.QueryRow(`SELECT r.state, (SELECT count(*) FROM collection_results WHERE run_id = r.id)
				FROM collection_runs r WHERE r.id = (SELECT max(id) FROM collection_runs)`).Scan(&state, &results); err != nil {
				t.Fatal(err)
			}
			if state == "running" {
				midRun++
				if results > 0 && results < tenants {
					partial++
				}
			}
		}
		t.Logf("killed %s: run state %q with %d tenants' results committed", kl.label, state, results)
		// The next command resumes the interrupted collection, then runs
		// its own (which finds every tenant collected already).
		binRun(t, bin, crash, rangeArgs(k)...)
		submitted++
	}
	if midRun < 3 || partial < 2 {
		t.Fatalf("%d kills landed mid-run, %d between batches; the test proves too little", midRun, partial)
	}

	// No collection lost or run twice: one run per job, every job and run
	// ended well, and each run counted every tenant exactly once.
	if n := count(`SELECT count(*) FROM jobs WHERE kind = 'metrics.collect'`); n != submitted {
		t.Errorf("%d collection jobs, want %d submitted", n, submitted)
	}
	if n := count(`SELECT count(*) FROM jobs WHERE state NOT IN ('succeeded')`); n != 0 {
		t.Errorf("%d jobs did not succeed", n)
	}
	if n := count(`SELECT count(*) FROM jobs j WHERE kind = 'metrics.collect' AND (SELECT count(*) FROM collection_runs WHERE job_id = j.id) != 1`); n != 0 {
		t.Errorf("%d collection jobs without exactly one run", n)
	}
	if n := count(`SELECT count(*) FROM collection_runs WHERE job_id NOT IN (SELECT id FROM jobs)`); n != 0 {
		t.Errorf("%d runs without a job", n)
	}
	if n := count(`SELECT count(*) FROM collection_runs WHERE state != 'succeeded' OR ok + skipped != tenants OR failed != 0`); n != 0 {
		rows, _ := cdb.Query(`SELECT id, state, tenants, ok, failed, skipped FROM collection_runs`)
		for rows.Next() {
			var id, tn, ok, failed, skipped int
			var st string
			rows.Scan(&id, &st, &tn, &ok, &failed, &skipped)
			t.Logf("run %d: %s, %d tenants, %d ok, %d failed, %d skipped", id, st, tn, ok, failed, skipped)
		}
		rows.Close()
		t.Errorf("%d runs not succeeded with every tenant counted once", n)
	}
	if n := count(`SELECT count(*) FROM jobs WHERE kind = 'metrics.collect' AND attempts > 1`); n < midRun {
		t.Errorf("%d collection jobs resumed, want at least the %d killed mid-run", n, midRun)
	}

	// The metrics equal those of the uninterrupted runs, row for row.
	ctl := openCentralDir(t, control)
	defer ctl.Close()
	for _, q := range []string{
		`SELECT date, database_name, total_orders, total_revenue, active_carts, new_products FROM metrics ORDER BY date, database_name`,
		`SELECT * FROM metrics_daily ORDER BY date`,
		`SELECT * FROM metrics_monthly ORDER BY month, database_name`,
	} {
		got, want := tableRows(t, cdb, q), tableRows(t, ctl, q)
		if len(want) < tenants*60 && strings.Contains(q, "FROM metrics ") {
			t.Fatalf("the control has only %d metrics rows", len(want))
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d rows after the kills, %d uninterrupted", q, len(got), len(want))
		}
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("%s: row %d is %s after the kills, %s uninterrupted", q, i, got[i], want[i])
				break
			}
		}
	}
	t.Logf("%d kills survived (%d mid-run, %d between batches); %d collections submitted, each run once", len(kills), midRun, partial, submitted)
}

// binRun runs the built binary on a data directory and returns its
// stdout; it must succeed.
func binRun(t testing.TB, bin, data string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--data", data}, args...)...)
	cmd.Env = append(os.Environ(), "TENANTRY_PASSWORD=crash-test-password")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tenantry %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// tableRows reads a query's rows, each as one string.
func tableRows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func openCentralDir(t *testing.T, dir string) *sql.DB {
	t.Helper()
	return openCentral(t, &cli{t: t, data: dir})
}

// multiplyFleet copies every tenant file under data n times, as
// <name>-c1 … <name>-cn (adopted by the next command): a large fleet in
// seconds instead of the minutes the demo would take to make it. It
// returns the names copied, in directory order.
func multiplyFleet(t *testing.T, data string, n int) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(data, "tenants"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".db")
		if !ok {
			continue
		}
		names = append(names, name)
		for i := 1; i <= n; i++ {
			copyFile(t, filepath.Join(data, "tenants", e.Name()), filepath.Join(data, "tenants", fmt.Sprintf("%s-c%d.db", name, i)))
		}
	}
	return names
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies a stopped data directory.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		copyFile(t, path, filepath.Join(to, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// openBackup opens a backup file read-only and, if check, runs SQLite's
// integrity check on it, which must say ok.
func openBackup(t *testing.T, path string, check bool) *sql.DB {
	t.Helper()
	u, err := tenantdb.FileURL(path, true)
	if err != nil {
		t.Fatal(err)
	}
	db, err := tenantdb.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(); tenantdb.Forget(u) })
	if check {
		var res string
		if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
			t.Fatalf("%s: integrity check %q %v", path, res, err)
		}
	}
	return db
}

func scalar(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestBackupWhileServing takes backups, with the built binary, of a
// central database a server is serving while a collection writes to it
// batch by batch. Each backup opens, passes the integrity check, holds
// the users, tenants and metrics, and is one moment of the database: a
// run's counters agree with its results, and the daily rollup with the
// metrics rows. Some backups must land mid-collection, or the test proves
// nothing.
func TestBackupWhileServing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a collection")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	// 13 demo stores each copied 40 times: 533 tenants, so the collection
	// commits two full batches and a partial one.
	binRun(t, bin, data, "demo", "--stores", "13", "--days", "30", "--seed", "5")
	multiplyFleet(t, data, 40)
	const tenants = 533
	srv := startServe(t, bin, data, "--collect-every", "0")
	defer srv.terminate(t)
	binRun(t, bin, data, "tenants", "list") // adopts the copies

	today := time.Now().UTC().Truncate(24 * time.Hour)
	from, to := today.AddDate(0, 0, -179), today
	collect := exec.Command(bin, "--data", data, "collect", "--from", from.Format("2006-01-02"), "--to", to.Format("2006-01-02"), "--collect-workers", "1")
	if err := collect.Start(); err != nil {
		t.Fatal(err)
	}
	collected := make(chan error, 1)
	go func() { collected <- collect.Wait() }()

	dir := t.TempDir()
	var files []string
	backup := func() {
		t.Helper()
		file := filepath.Join(dir, fmt.Sprintf("central-%d.db", len(files)+1))
		out := binRun(t, bin, data, "backup", file)
		if !strings.HasPrefix(out, "backup: "+file) || !strings.Contains(out, "integrity ok") || !strings.Contains(out, fmt.Sprintf("%d tenants", tenants)) {
			t.Fatalf("backup said %q", out)
		}
		files = append(files, file)
	}
	for running := true; running; {
		select {
		case err := <-collected:
			if err != nil {
				t.Fatalf("collect: %v", err)
			}
			running = false
		case <-time.After(100 * time.Millisecond):
			backup()
		}
	}
	backup() // and one at rest

	// Each backup checked itself (its output says so); the test checks
	// again the last one taken mid-collection and the one at rest, which
	// under the race detector takes seconds each.
	midRun, partial := 0, 0
	checked := ""
	for i, f := range files {
		db := openBackup(t, f, i == len(files)-1)
		if n := scalar(t, db, `SELECT count(*) FROM users`); n != 1 {
			t.Errorf("%s: %d users", f, n)
		}
		if n := scalar(t, db, `SELECT count(*) FROM tenants`); n != tenants {
			t.Errorf("%s: %d tenants", f, n)
		}
		if n := scalar(t, db, `SELECT count(*) FROM metrics`); n < 13*30 {
			t.Errorf("%s: %d metrics rows, fewer than the demo collected", f, n)
		}
		var state string
		var counted, results int64
		if err := db.QueryRow(`SELECT state, ok + failed, (SELECT count(*) FROM collection_results WHERE run_id = r.id)
			FROM collection_runs r ORDER BY id DESC LIMIT 1`).Scan(&state, &counted, &results); err != nil {
			t.Fatal(err)
		}
		if counted != results {
			t.Errorf("%s: the run counts %d tenants and holds %d results: not one moment", f, counted, results)
		}
		if state == "running" {
			midRun++
			checked = f
			if results > 0 {
				partial++
			}
		}
		for _, day := range []time.Time{from, from.AddDate(0, 0, 90), to} {
			d := day.Format("2006-01-02")
			var rollup, sum int64
			if err := db.QueryRow(`SELECT coalesce((SELECT total_orders FROM metrics_daily WHERE date = ?), 0),
				coalesce((SELECT sum(total_orders) FROM metrics WHERE date = ?), 0)`, d, d).Scan(&rollup, &sum); err != nil {
				t.Fatal(err)
			}
			if rollup != sum {
				t.Errorf("%s: %s: the daily rollup says %d orders, the metrics %d", f, d, rollup, sum)
			}
		}
	}
	if checked != "" {
		openBackup(t, checked, true)
	}
	last := openBackup(t, files[len(files)-1], false)
	live := openCentralDir(t, data)
	defer live.Close()
	q := `SELECT count(*) FROM metrics WHERE date BETWEEN ? AND ?`
	if got, want := scalar(t, last, q, from.Format("2006-01-02"), to.Format("2006-01-02")), scalar(t, live, q, from.Format("2006-01-02"), to.Format("2006-01-02")); got != want || want < tenants*180 {
		t.Errorf("the backup at rest holds %d metrics rows of the range, the database %d", got, want)
	}
	t.Logf("%d backups, %d taken mid-collection (%d with some batches committed)", len(files), midRun, partial)
	if midRun == 0 {
		t.Fatal("no backup landed mid-collection; the test proved nothing")
	}
}

// TestBackupRefusals: a bad destination is one clear line and exit 1,
// and nothing is written or replaced.
func TestBackupRefusals(t *testing.T) {
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = "backup-test-password"
	c.ok("users", "add", "admin@example.com")
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.db")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(dir, "no-such-dir", "central.db")}, "does not exist; create it first"},
		{[]string{existing}, "exists; pass --force to replace it"},
		{[]string{dir}, "is a directory"},
	} {
		code, out, errs := c.run("", append([]string{"backup"}, tc.args...)...)
		if code != 1 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("backup %v: exit %d, stdout %q, stderr %q; want exit 1 and one line saying %q", tc.args, code, out, errs, tc.want)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}
	if code, _, errs := c.run("", "backup"); code != 2 || !strings.Contains(errs, "backup FILE") {
		t.Errorf("backup without FILE: exit %d %q", code, errs)
	}
	empty := newCLI(t)
	if code, _, errs := empty.run("", "backup", filepath.Join(dir, "none.db")); code != 1 || !strings.Contains(errs, "no central database") {
		t.Errorf("backup without a central database: exit %d %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(empty.data, "central.db")); err == nil {
		t.Error("backup created a central database")
	}
	// --force replaces the file with a checked copy; nothing is left beside it.
	out := c.ok("backup", existing, "--force")
	if !strings.Contains(out, "integrity ok") || !strings.Contains(out, "1 users") {
		t.Errorf("backup --force said %q", out)
	}
	if n := scalar(t, openBackup(t, existing, true), `SELECT count(*) FROM users`); n != 1 {
		t.Errorf("the backup holds %d users", n)
	}
	if st, err := os.Stat(existing); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode: %v %v", st.Mode(), err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("left beside the backup: %v", es)
	}
}

// TestBackupRemoteCentral backs up a central database that lives on a
// real sqld (libSQL server) through its dump.
func TestBackupRemoteCentral(t *testing.T) {
	bin := sqldtest.Binary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	sqld := exec.Command(bin, "--db-path", filepath.Join(t.TempDir(), "sqld"), "--http-listen-addr", addr, "--no-welcome", "--disable-metrics")
	if err := sqld.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqld.Process.Kill(); _ = sqld.Wait() })
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get(base + "/health"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sqld did not answer within 30 s")
		}
	}

	c := newCLI(t)
	c.env["TENANTRY_CENTRAL_URL"] = base
	c.env["TENANTRY_PASSWORD"] = "backup-test-password"
	c.ok("users", "add", "admin@example.com")
	c.ok("users", "add", "viewer@example.com", "--role", "viewer")
	c.ok("tenants", "create", "store-1")
	file := filepath.Join(t.TempDir(), "central.db")
	out := c.ok("backup", file)
	if !strings.Contains(out, "integrity ok") || !strings.Contains(out, "1 tenants, 2 users") {
		t.Fatalf("backup said %q", out)
	}
	db := openBackup(t, file, true)
	if n := scalar(t, db, `SELECT count(*) FROM users`); n != 2 {
		t.Errorf("%d users in the backup", n)
	}
	var name, status string
	if err := db.QueryRow(`SELECT name, status FROM tenants`).Scan(&name, &status); err != nil || name != "store-1" || status != "ready" {
		t.Errorf("tenant in the backup: %q %q %v", name, status, err)
	}
	// The copy is a whole central database: Tenantry opens it as one.
	cdb, err := central.Open(t.Context(), "file:"+file, "")
	if err != nil {
		t.Fatalf("open the backup as the central database: %v", err)
	}
	defer cdb.Close()
	if n, err := cdb.CountUsers(t.Context()); err != nil || n != 2 {
		t.Errorf("the restored copy has %d users (%v)", n, err)
	}
}

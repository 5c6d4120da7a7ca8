package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// snapshotFleet makes n tenants of rows orders each.
func snapshotFleet(t *testing.T, c *cli, n, rows int) []string {
	t.Helper()
	var names []string
	for i := range n {
		name := fmt.Sprintf("s-%d", i)
		c.ok("tenants", "create", name)
		db := openTenant(t, c, name)
		if _, err := db.Exec(fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d)
			INSERT INTO orders(total_amount, created_at) SELECT i, datetime('2026-01-01', '+' || (i %% 300) || ' days') FROM n`, rows)); err != nil {
			t.Fatal(err)
		}
		db.Close()
		names = append(names, name)
	}
	return names
}

// killWhen starts the command, waits until the central database answers
// the query with a count above zero (or the command ends), and kills it
// with SIGKILL. It reports whether the command was still running.
func killWhen(t *testing.T, bin, data, query string, args ...string) bool {
	t.Helper()
	cdb := openCentralDir(t, data)
	defer cdb.Close()
	cmd := exec.Command(bin, append([]string{"--data", data}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	stuck := time.After(2 * time.Minute) // only a hung command takes this long
	for {
		var n int
		_ = cdb.QueryRow(query).Scan(&n) // the table may not exist yet
		if n > 0 {
			break
		}
		select {
		case <-exited:
			return false
		case <-stuck:
			t.Fatalf("tenantry %s: never reached %s", strings.Join(args, " "), query)
		case <-poll.C:
			continue
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	return true
}

// storeFiles lists the snapshot store's files (slash keys), and those of
// unfinished writes apart.
func storeFiles(t *testing.T, dir string) (whole, unfinished []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasPrefix(rel, ".tmp"+string(filepath.Separator)) {
			unfinished = append(unfinished, rel)
		} else {
			whole = append(whole, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return whole, unfinished
}

// TestKillMidSnapshotRun kills "snapshots take" with SIGKILL at several
// moments of a run. Whatever the moment: every recorded snapshot's file
// is there and matches its checksum, the next command finishes the run,
// every tenant ends with a snapshot, and what the kills left unrecorded
// is swept once an hour old.
func TestKillMidSnapshotRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	bin := buildBinary(t)
	c := newCLI(t)
	names := snapshotFleet(t, c, 12, 20000)
	store := filepath.Join(c.data, "snapshots")
	moments := []string{
		`SELECT count(*) FROM jobs WHERE kind = 'snapshot.take' AND state = 'running'`,
		`SELECT count(*) FROM snapshot_runs WHERE state = 'running' AND snapshotted >= 1`,
		`SELECT count(*) FROM snapshots`,
		`SELECT count(*) FROM snapshot_runs WHERE snapshotted + unchanged >= 6`,
	}
	mid := 0
	for i, q := range moments {
		// Each round starts from a changed fleet: one tenant written.
		db := openTenant(t, c, names[i])
		if _, err := db.Exec(`DELETE FROM orders WHERE id % 7 = 0`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if killWhen(t, bin, c.data, q, "snapshots", "take") {
			mid++
		}
		cdb := openCentralDir(t, c.data)
		checkRecorded(t, cdb, store)
		cdb.Close()
	}
	t.Logf("%d of %d kills landed mid-run", mid, len(moments))
	if mid < len(moments)/2 {
		t.Errorf("only %d of %d kills landed mid-run; the test proves too little", mid, len(moments))
	}

	// The next command resumes the killed run, then runs its own.
	rep := decode[takeReport](t, c.ok("snapshots", "take", "--json"))
	if rep.Failed != 0 || rep.Tenants != len(names) {
		t.Fatalf("the run after the kills: %+v", rep)
	}
	cdb := openCentralDir(t, c.data)
	defer cdb.Close()
	var covered int
	if err := cdb.QueryRow(`SELECT count(DISTINCT tenant) FROM snapshots`).Scan(&covered); err != nil || covered != len(names) {
		t.Fatalf("%d of %d tenants have a snapshot (%v)", covered, len(names), err)
	}
	var stuck int
	if err := cdb.QueryRow(`SELECT count(*) FROM snapshot_runs WHERE state IN ('queued', 'running')`).Scan(&stuck); err != nil || stuck != 0 {
		t.Fatalf("%d runs left queued or running (%v)", stuck, err)
	}
	recorded := checkRecorded(t, cdb, store)

	// What the kills left (files written but not recorded, writes not
	// finished) is swept once it is an hour old, and nothing else is.
	// Plant what a kill can leave (the kills above may or may not have):
	// a whole file no record names, and an unfinished write.
	planted := []string{"s-0/20200101T000000.000000000Z-deadbeef.db.zst", ".tmp/s-0-unfinished"}
	for _, f := range planted {
		if err := os.WriteFile(filepath.Join(store, filepath.FromSlash(f)), []byte("left by a crash"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	whole, unfinished := storeFiles(t, store)
	old := time.Now().Add(-2 * time.Hour)
	for _, f := range append(whole, unfinished...) {
		if err := os.Chtimes(filepath.Join(store, filepath.FromSlash(f)), old, old); err != nil {
			t.Fatal(err)
		}
	}
	orphans := len(whole) - recorded
	t.Logf("%d orphan files and %d unfinished writes before the sweep", orphans, len(unfinished))
	c.ok("snapshots", "take")
	whole, unfinished = storeFiles(t, store)
	if n := checkRecorded(t, cdb, store); len(whole) != n || len(unfinished) != 0 {
		t.Fatalf("after the sweep: %d files for %d records, %d unfinished: %v", len(whole), n, len(unfinished), unfinished)
	}
}

// checkRecorded checks that every recorded snapshot's file is in the store
// and matches its checksum, and returns how many there are.
func checkRecorded(t *testing.T, cdb *sql.DB, store string) int {
	t.Helper()
	rows, err := cdb.Query(`SELECT key, sha256 FROM snapshots`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var key, sum string
		if err := rows.Scan(&key, &sum); err != nil {
			t.Fatal(err)
		}
		n++
		if got := fileSHA256(t, filepath.Join(store, filepath.FromSlash(key))); got != sum {
			t.Errorf("snapshot %s: the file's checksum is %s, the record's %s", key, got, sum)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestKillMidRollback kills "tenants restore --at" with SIGKILL at each of
// its moments. Whatever the moment, the next command finishes it: the
// tenant is ready with the snapshot's rows, and the database it replaced
// is kept as a snapshot.
func TestKillMidRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	bin := buildBinary(t)
	c := newCLI(t)
	const rows = 60000
	names := snapshotFleet(t, c, 6, rows)
	c.ok("snapshots", "take")
	// "at" has whole seconds: wait until the second after the snapshots.
	cdb := openCentralDir(t, c.data)
	defer cdb.Close()
	var newest string
	if err := cdb.QueryRow(`SELECT max(taken_at) FROM snapshots`).Scan(&newest); err != nil {
		t.Fatal(err)
	}
	taken, err := time.Parse(time.RFC3339, newest)
	if err != nil {
		t.Fatal(err)
	}
	for time.Now().Truncate(time.Second).Before(taken) {
		time.Sleep(10 * time.Millisecond)
	}
	at := time.Now().UTC().Format(time.RFC3339)
	for _, n := range names {
		db := openTenant(t, c, n)
		if _, err := db.Exec(`DELETE FROM orders WHERE id > 10`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	moments := []string{
		`j.state = 'queued'`,
		`j.state != 'queued'`,
		`j.done >= 1`,
		`j.done >= 2`,
		`j.done >= 3`,
		`t.status = 'ready' AND t.job_id = 0`,
	}
	mid := 0
	for i, m := range moments {
		q := `SELECT count(*) FROM jobs j JOIN tenants t ON t.name = j.tenant WHERE j.kind = 'tenant.rollback' AND j.tenant = '` + names[i] + `' AND (` + m + `)`
		if killWhen(t, bin, c.data, q, "tenants", "restore", names[i], "--at", at, "--yes") {
			mid++
		}
	}
	t.Logf("%d of %d kills landed mid-rollback", mid, len(moments))
	got := listed(t, c) // the next command resumes what the kills left
	for _, n := range names {
		if got[n].Status != "ready" {
			t.Errorf("%s is %s after the next command", n, got[n].Status)
		} else if o := countOrders(t, c, n); o != rows {
			t.Errorf("%s has %d orders, want the snapshot's %d", n, o, rows)
		}
	}
	var failed, kept int
	if err := cdb.QueryRow(`SELECT count(*) FROM jobs WHERE kind = 'tenant.rollback' AND state != 'succeeded'`).Scan(&failed); err != nil || failed != 0 {
		t.Errorf("%d rollbacks did not succeed (%v)", failed, err)
	}
	// Each tenant has its first snapshot and the kept one (a resumed
	// rollback may keep one more: the snapshot it had already put back).
	if err := cdb.QueryRow(`SELECT count(*) FROM (SELECT tenant FROM snapshots GROUP BY tenant HAVING count(*) < 2)`).Scan(&kept); err != nil || kept != 0 {
		t.Errorf("%d tenants lack the snapshot of the database their rollback replaced (%v)", kept, err)
	}
	checkRecorded(t, cdb, filepath.Join(c.data, "snapshots"))
}

// fileSHA256 is a file's hex SHA-256.
func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestSnapshotFlagsRefused: bad snapshot and history settings are usage
// errors naming the flag, before anything is opened; a snapshot directory
// that cannot be written stops serve at start with one clear line.
func TestSnapshotFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--snapshot-every", "-1h"}, "--snapshot-every must not be negative"},
		{[]string{"--snapshot-keep-all", "two days"}, `--snapshot-keep-all "two days" is not a duration`},
		{[]string{"--snapshot-keep-daily", "-3"}, "one snapshot a day for -3 days"},
		{[]string{"--keep-results", "1h"}, "--keep-results and --keep-audit must be at least"},
		{[]string{"--keep-audit", "soon"}, `--keep-audit "soon"`},
		{[]string{"--snapshot-workers", "0"}, "--snapshot-workers must be between 1 and 64"},
	} {
		c := newCLI(t)
		code, _, errs := c.run("", append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("serve %v: exit %d %q, want 2 and %q", tc.args, code, errs, tc.want)
		}
		if _, err := os.Stat(filepath.Join(c.data, "central.db")); err == nil {
			t.Errorf("serve %v opened the central database before refusing", tc.args)
		}
	}
	c := newCLI(t)
	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o640); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(blocker, "snapshots")
	code, _, errs := c.run("", "--snapshot-dir", dir, "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errs, "The snapshot directory "+dir+" is not writable: not a directory.") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("serve with an unwritable snapshot directory: exit %d %q", code, errs)
	}
	// Commands that take no snapshot do not need the directory.
	if code, _, errs := c.run("", "--snapshot-dir", dir, "tenants", "list"); code != 0 {
		t.Errorf("tenants list with an unwritable snapshot directory: exit %d %q", code, errs)
	}
	code, _, errs = c.run("", "--snapshot-dir", dir, "snapshots", "take")
	if code != 1 || !strings.Contains(errs, "is not writable") {
		t.Errorf("snapshots take with an unwritable snapshot directory: exit %d %q", code, errs)
	}
}

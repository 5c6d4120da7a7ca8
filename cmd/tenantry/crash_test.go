package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/tenantdb"
)

// buildBinary builds tenantry once for the tests that need a real process
// to kill.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tenantry")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestKillMidJob kills the tenantry process with SIGKILL at different
// moments of a create, a branch and a delete, then runs the next command.
// Whatever the moment, the next command finishes (or cleanly never began)
// the job: no tenant is left claiming ready while half-made, none is left
// stuck in a transitional state, and a finished branch holds all the rows.
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

	runKilled := func(delay time.Duration, args ...string) {
		cmd := exec.Command(bin, append([]string{"--data", c.data}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	delays := []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 150 * time.Millisecond}
	for i, d := range delays {
		copyName, newName := fmt.Sprintf("copy-%d", i), fmt.Sprintf("new-%d", i)
		runKilled(d, "tenants", "clone", "big", copyName)
		runKilled(d, "tenants", "create", newName)
		// The next command resumes whatever the killed ones left.
		got := listed(t, c)
		for _, name := range []string{copyName, newName} {
			tn, ok := got[name]
			switch {
			case !ok:
				// Killed before it claimed the name: nothing may exist.
				if _, err := os.Stat(filepath.Join(c.data, "tenants", name+".db")); err == nil {
					t.Errorf("delay %v: %s has a file but no registry row", d, name)
				}
			case tn.Status != "ready":
				t.Errorf("delay %v: %s is %s after the next command", d, name, tn.Status)
			case name == copyName && countOrders(t, c, name) != rows:
				t.Errorf("delay %v: branch %s has %d orders, want %d", d, name, countOrders(t, c, name), rows)
			case name == newName && tn.SchemaVersion != 1:
				t.Errorf("delay %v: %s is ready at schema %d", d, name, tn.SchemaVersion)
			}
		}
		if _, ok := got[copyName]; ok {
			runKilled(d, "tenants", "delete", copyName, "--yes")
			if st := listed(t, c)[copyName].Status; st != "archived" && st != "ready" {
				t.Errorf("delay %v: deleted %s is %s", d, copyName, st)
			}
		}
	}
	// Count the jobs a killed process left for the next one: the test only
	// proves something if some kills landed mid-job.
	cdb := openCentral(t, c)
	var resumed int
	if err := cdb.QueryRow(`SELECT count(*) FROM jobs WHERE attempts > 1`).Scan(&resumed); err != nil {
		t.Fatal(err)
	}
	cdb.Close()
	t.Logf("%d jobs were resumed after a kill", resumed)
	if resumed == 0 {
		t.Error("no kill landed mid-job; the test proved nothing")
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

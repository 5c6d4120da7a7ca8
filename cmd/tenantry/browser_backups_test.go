package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserBackups is the rollback journey: an admin snapshots a
// tenant from its page, deletes its orders by mistake in the SQL
// console's write mode, then restores the tenant from the Snapshots card
// (typing its name to confirm), and the orders are back. The Backups page
// shows the runs and the coverage on the way.
func TestBrowserBackups(t *testing.T) {
	ctx := newBrowser(t)
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = testPassword
	c.ok("users", "add", adminEmail)
	c.ok("tenants", "create", "store-1")
	c.ok("tenants", "create", "store-2")
	db := openTenant(t, c, "store-1")
	for i := 1; i <= 12; i++ {
		if _, err := db.Exec(`INSERT INTO orders(total_amount) VALUES (?)`, i*100); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	srv := c.serve("--collect-every", "0", "--snapshot-every", "0")
	login(ctx, t, srv.URL, adminEmail, testPassword)

	stage(t, "a fresh console has no snapshots and says so", func(t *testing.T) {
		step(ctx, t, "go to Backups", chromedp.Click(tid("nav-backups")), chromedp.WaitVisible(tid("coverage")))
		if got := attr(ctx, t, tid("coverage"), "data-fresh"); got != "0" {
			t.Errorf("coverage before any snapshot: %s fresh", got)
		}
		shot(ctx, t, "backups-01-empty")
	})

	stage(t, "snapshot store-1 from its page", func(t *testing.T) {
		visitTenant(ctx, t, srv.URL, "store-1")
		step(ctx, t, "snapshot now", chromedp.Click(tid("snapshot-tenant")))
		waitJob(ctx, t, "snapshot store-1")
		visitTenant(ctx, t, srv.URL, "store-1")
		step(ctx, t, "the snapshot is listed", chromedp.WaitVisible(tid("snapshot")))
		shot(ctx, t, "backups-02-tenant-card")
	})

	stage(t, "a write-mode DELETE empties store-1's orders", func(t *testing.T) {
		step(ctx, t, "open the SQL console on store-1",
			chromedp.Navigate(srv.URL+"/sql?tenant=store-1"),
			chromedp.WaitVisible(tid("sql-form")),
			chromedp.Click(chromedp.CSS(`.sql-write .switch-track`)),
			chromedp.WaitVisible(chromedp.CSS(`#sql-form.sql-writing`)),
			typeSQL("DELETE FROM orders"),
			chromedp.Click(tid("run-button")),
			chromedp.WaitVisible(tid("confirm-form")+`[data-confirm-bound]`),
			chromedp.SendKeys(tid("confirm-input"), "store-1"),
			chromedp.Click(tid("confirm-button")),
			chromedp.WaitVisible(tid("sql-message")),
		)
		if got := text(ctx, t, tid("sql-message")); !strings.Contains(got, "12 rows changed") {
			t.Fatalf("the DELETE says %q", got)
		}
		if n := countOrders(t, c, "store-1"); n != 0 {
			t.Fatalf("after the DELETE store-1 has %d orders", n)
		}
	})

	stage(t, "restore store-1 from its Snapshots card", func(t *testing.T) {
		visitTenant(ctx, t, srv.URL, "store-1")
		step(ctx, t, "press Restore on the snapshot", chromedp.Click(tid("snapshot-restore")), chromedp.WaitVisible(tid("rollback-form")+`[data-confirm-bound]`))
		shot(ctx, t, "backups-03-confirm")
		disabled := get(ctx, t, "read whether the restore button is disabled", chromedp.JavascriptAttribute[bool](tid("rollback-button"), "disabled"))
		if !disabled {
			t.Error("the restore button is enabled before the name is typed")
		}
		step(ctx, t, "type the name and restore",
			chromedp.SendKeys(chromedp.CSS(`#rollback-confirm`), "store-1"),
			chromedp.Click(tid("rollback-button")),
		)
		waitJob(ctx, t, "restore store-1")
		followJob(ctx, t, "store-1")
		if n := countOrders(t, c, "store-1"); n != 12 {
			t.Fatalf("after the restore store-1 has %d orders, want 12", n)
		}
		if got := tenantStatus(ctx, t); got != "ready" {
			t.Errorf("store-1 is %s after the restore", got)
		}
		// The emptied database was kept as a snapshot: two now.
		step(ctx, t, "two snapshots listed", chromedp.WaitVisible(tid("snapshot")+`:nth-child(2)`))
		shot(ctx, t, "backups-04-restored")
	})

	stage(t, "snapshot the fleet from Backups", func(t *testing.T) {
		step(ctx, t, "go to Backups", chromedp.Click(tid("nav-backups")), chromedp.WaitVisible(tid("snapshot-fleet")))
		step(ctx, t, "snapshot now", chromedp.Click(tid("snapshot-fleet")))
		waitJob(ctx, t, "snapshot the fleet")
		step(ctx, t, "back to Backups", chromedp.Click(tid("job-link")), chromedp.WaitVisible(tid("snapshot-runs")))
		if got := attr(ctx, t, tid("coverage"), "data-fresh"); got != "2" {
			t.Errorf("coverage after the fleet's run: %s fresh, want 2", got)
		}
		shot(ctx, t, "backups-05-page")
	})
}

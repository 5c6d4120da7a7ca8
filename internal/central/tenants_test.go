package central_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// A name is claimed unless a row holds it; a failed row gives it up. A
// refused claim queues no job.
func TestClaimTenant(t *testing.T) {
	for _, c := range []struct {
		held string // the status of the row holding the name, "" for none
		want string
		says string
	}{
		{"", "", ""},
		{fleet.StatusFailed, "", ""},
		{fleet.StatusReady, fleet.ECONFLICT, "already exists (ready)"},
		{fleet.StatusCreating, fleet.ECONFLICT, "already exists (creating)"},
		{fleet.StatusDeleting, fleet.ECONFLICT, "already exists (deleting)"},
		{fleet.StatusArchived, fleet.ECONFLICT, "in the archive"},
		{fleet.StatusMissing, fleet.ECONFLICT, "database is missing"},
	} {
		t.Run("held "+c.held, func(t *testing.T) {
			db, _ := openDB(t)
			ctx := context.Background()
			if c.held != "" {
				addTenant(t, db, "shop", c.held)
			}
			jobsBefore := count(t, db, `SELECT count(*) FROM jobs`)
			tn := &fleet.Tenant{Name: "shop", Platform: "local", Status: fleet.StatusCreating, CreatedAt: start}
			j := &fleet.Job{Kind: fleet.JobCreate, Tenant: "shop"}
			err := db.ClaimTenantJob(ctx, tn, j, nil)
			wantCode(t, err, c.want)
			if c.says != "" && !strings.Contains(err.Error(), c.says) {
				t.Errorf("refusal %q does not say %q", err, c.says)
			}
			got, gerr := db.Tenant(ctx, "shop")
			must(t, gerr)
			jobsAfter := count(t, db, `SELECT count(*) FROM jobs`)
			if c.want != "" {
				if got.Status != c.held || jobsAfter != jobsBefore {
					t.Errorf("refused claim left status %s and %d new jobs", got.Status, jobsAfter-jobsBefore)
				}
				return
			}
			if got.Status != fleet.StatusCreating || got.JobID != j.ID || tn.JobID != j.ID || jobsAfter != jobsBefore+1 {
				t.Errorf("claimed row %+v, job %d, %d new jobs", got, j.ID, jobsAfter-jobsBefore)
			}
		})
	}
}

func TestTenantLooksForUnknownNamesOnThePlatform(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	var asked []string
	db.OnUnknownTenant(func(ctx context.Context, name string) bool {
		asked = append(asked, name)
		if name != "dropped-in" {
			return false
		}
		_, err := db.Reconcile(ctx, "local", []central.Observed{{Name: name}}, nil)
		return err == nil
	})
	addTenant(t, db, "known", fleet.StatusCreating)
	for _, c := range []struct{ name, want string }{
		{"known", ""},
		{"dropped-in", ""},
		{"nowhere", fleet.ENOTFOUND},
		{"Not A Name", fleet.ENOTFOUND},
	} {
		_, err := db.Tenant(ctx, c.name)
		wantCode(t, err, c.want)
	}
	if !slices.Equal(asked, []string{"dropped-in", "nowhere"}) {
		t.Errorf("the platform was asked for %q; want only the valid unknown names", asked)
	}
}

func TestUpdateTenant(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		who  string
		u    central.TenantUpdate
		want string
		says string
		row  func(*fleet.Tenant) bool
	}{
		{"every field", "shop", central.TenantUpdate{Status: ptr(fleet.StatusDeleting), PlatformID: ptr("p1"), URL: ptr("u"),
			SchemaVersion: ptr(int64(4)), SizeBytes: ptr(int64(99)), LastWriteAt: &at, ArchivedAt: &at, Error: ptr("e"), JobID: ptr(int64(7))},
			"", "", func(t *fleet.Tenant) bool {
				return t.Status == fleet.StatusDeleting && t.PlatformID == "p1" && t.URL == "u" && t.SchemaVersion == 4 && t.SizeBytes == 99 &&
					t.LastWriteAt.Equal(at) && t.ArchivedAt.Equal(at) && t.Error == "e" && t.JobID == 7
			}},
		{"in an expected status", "shop", central.TenantUpdate{Status: ptr(fleet.StatusDeleting), IfStatus: []string{fleet.StatusMissing, fleet.StatusReady}},
			"", "", func(t *fleet.Tenant) bool { return t.Status == fleet.StatusDeleting }},
		{"in another status", "shop", central.TenantUpdate{Status: ptr(fleet.StatusDeleting), IfStatus: []string{fleet.StatusArchived}},
			fleet.ECONFLICT, `"shop" is ready`, func(t *fleet.Tenant) bool { return t.Status == fleet.StatusReady }},
		{"zero archive time clears it", "shop", central.TenantUpdate{ArchivedAt: &time.Time{}},
			"", "", func(t *fleet.Tenant) bool { return t.ArchivedAt.IsZero() }},
		{"unknown tenant", "nope", central.TenantUpdate{Error: ptr("x")}, fleet.ENOTFOUND, "", nil},
		{"nothing to change", "nope", central.TenantUpdate{}, "", "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, _ := openDB(t)
			ctx := context.Background()
			addTenant(t, db, "shop", fleet.StatusReady)
			must(t, db.UpdateTenant(ctx, "shop", central.TenantUpdate{ArchivedAt: &at}))
			err := db.UpdateTenant(ctx, c.who, c.u)
			wantCode(t, err, c.want)
			if c.says != "" && !strings.Contains(err.Error(), c.says) {
				t.Errorf("%q does not say %q", err, c.says)
			}
			if c.row != nil {
				got, err := db.Tenant(ctx, "shop")
				must(t, err)
				if !c.row(got) {
					t.Errorf("row after the update: %+v", got)
				}
			}
		})
	}
}

// A move queues its job and marks the row in one transaction: a refused
// move leaves no job behind.
func TestMoveTenant(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	addTenant(t, db, "shop", fleet.StatusReady)
	move := func() (*fleet.Job, error) {
		j := &fleet.Job{Kind: fleet.JobDelete, Tenant: "shop"}
		return j, db.MoveTenant(ctx, j, "shop", central.TenantUpdate{Status: ptr(fleet.StatusDeleting), IfStatus: []string{fleet.StatusReady}})
	}
	j, err := move()
	must(t, err)
	got, err := db.Tenant(ctx, "shop")
	must(t, err)
	if got.Status != fleet.StatusDeleting || got.JobID != j.ID {
		t.Fatalf("moved row %+v, want deleting by job %d", got, j.ID)
	}
	before := count(t, db, `SELECT count(*) FROM jobs`)
	_, err = move()
	wantCode(t, err, fleet.ECONFLICT)
	if n := count(t, db, `SELECT count(*) FROM jobs`); n != before {
		t.Errorf("a refused move queued %d jobs", n-before)
	}
}

// Forgetting removes the registry row only in the expected status; the
// tenant's metrics and jobs stay.
func TestForgetTenant(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	addTenant(t, db, "shop", fleet.StatusMissing)
	write(t, db, fleet.Metrics{Date: "2026-03-01", Tenant: "shop", Orders: 1})
	wantCode(t, db.ForgetTenant(ctx, "shop", fleet.StatusArchived, fleet.StatusFailed), fleet.ECONFLICT)
	wantCode(t, db.ForgetTenant(ctx, "nope", fleet.StatusMissing), fleet.ECONFLICT)
	must(t, db.ForgetTenant(ctx, "shop", fleet.StatusArchived, fleet.StatusMissing))
	_, err := db.Tenant(ctx, "shop")
	wantCode(t, err, fleet.ENOTFOUND)
	if m, err := db.TenantMetrics(ctx, "shop", "2026-03-01", "2026-03-01"); err != nil || len(m) != 1 {
		t.Errorf("the forgotten tenant's metrics: %v, %v", m, err)
	}
	if js, err := db.Jobs(ctx, central.JobFilter{Tenant: "shop"}); err != nil || len(js) != 1 {
		t.Errorf("the forgotten tenant's jobs: %v, %v", js, err)
	}
}

// registry makes a small registry with sizes, writes and business, for
// the list tests.
func registry(t *testing.T) *central.DB {
	t.Helper()
	db, _ := openDB(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, status string
		size         int64
		orders       int64
		lastOrder    string
	}{
		{"alpha", fleet.StatusReady, 300, 5, "2026-03-18"},
		{"alpine", fleet.StatusReady, 100, 0, ""},
		{"beta", fleet.StatusMissing, 300, 9, "2026-03-01"},
		{"gamma-alp", fleet.StatusReady, 200, 5, "2026-02-10"},
		{"delta", fleet.StatusArchived, 0, 1, "2026-03-17"},
	} {
		addTenant(t, db, c.name, c.status)
		must(t, db.UpdateTenant(ctx, c.name, central.TenantUpdate{SizeBytes: &c.size}))
		if c.lastOrder != "" {
			write(t, db, fleet.Metrics{Date: c.lastOrder, Tenant: c.name, Orders: c.orders, Revenue: c.orders * 10})
		}
	}
	return db
}

func TestListTenants(t *testing.T) {
	db := registry(t)
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		f     central.TenantFilter
		want  string
		total int64
	}{
		{"everything by name", central.TenantFilter{}, "alpha alpine beta delta gamma-alp", 5},
		{"name contains, any case", central.TenantFilter{Query: "ALP"}, "alpha alpine gamma-alp", 3},
		{"one status", central.TenantFilter{Status: fleet.StatusReady}, "alpha alpine gamma-alp", 3},
		{"prefix", central.TenantFilter{Prefix: "alp"}, "alpha alpine", 2},
		{"after a cursor", central.TenantFilter{After: "alpine", Limit: 2}, "beta delta", 3},
		{"a page", central.TenantFilter{Limit: 2, Offset: 1}, "alpine beta", 5},
		{"past the end", central.TenantFilter{Offset: 9}, "", 5},
		{"without a count", central.TenantFilter{Status: fleet.StatusReady, NoCount: true}, "alpha alpine gamma-alp", -1},
		{"by size, ties by name", central.TenantFilter{Sort: "size_bytes"}, "delta alpine gamma-alp alpha beta", 5},
		{"by size descending", central.TenantFilter{Sort: "size_bytes", Desc: true}, "alpha beta gamma-alp alpine delta", 5},
		{"by an unknown column: by name", central.TenantFilter{Sort: "name; DROP TABLE tenants", Desc: true}, "gamma-alp delta beta alpine alpha", 5},
		{"by orders, ties by name", central.TenantFilter{Sort: "orders_30d", Desc: true}, "beta alpha delta gamma-alp alpine", 5},
		{"by revenue, a page", central.TenantFilter{Sort: "revenue_30d", Limit: 2, Offset: 1}, "gamma-alp delta", 5},
		{"by last order, none first", central.TenantFilter{Sort: "last_order_date"}, "alpine gamma-alp beta delta alpha", 5},
		{"by last order of ready ones", central.TenantFilter{Sort: "last_order_date", Desc: true, Status: fleet.StatusReady}, "alpha gamma-alp alpine", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts, total, err := db.ListTenants(ctx, c.f)
			must(t, err)
			var names []string
			for _, tn := range ts {
				names = append(names, tn.Name)
			}
			if got := strings.Join(names, " "); got != c.want || total != c.total {
				t.Errorf("got %q of %d, want %q of %d", got, total, c.want, c.total)
			}
		})
	}
}

// Cursor pages list every tenant once, however the registry changes
// between them.
func TestListTenantsCursorPagesNeitherSkipNorRepeat(t *testing.T) {
	db := registry(t)
	ctx := context.Background()
	var seen []string
	after := ""
	for {
		page, _, err := db.ListTenants(ctx, central.TenantFilter{After: after, Limit: 2, NoCount: true})
		must(t, err)
		if len(page) == 0 {
			break
		}
		for _, tn := range page {
			seen = append(seen, tn.Name)
		}
		after = page[len(page)-1].Name
		// A tenant appears before the cursor, a listed one leaves:
		// neither shifts the pages still to come.
		addTenant(t, db, "aaa-"+after, fleet.StatusReady)
		must(t, db.ForgetTenant(ctx, page[0].Name, fleet.StatusReady, fleet.StatusMissing, fleet.StatusArchived))
	}
	if got := strings.Join(seen, " "); got != "alpha alpine beta delta gamma-alp" {
		t.Errorf("pages listed %q", got)
	}
}

// The counts per status follow every insert, move, resize and removal.
func TestCountTenants(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	check := func(step, want string) {
		t.Helper()
		cs, err := db.CountTenants(ctx)
		must(t, err)
		var got []string
		for _, c := range cs {
			got = append(got, c.Status+":"+itoa(c.Count)+"/"+itoa(c.Bytes))
		}
		if g := strings.Join(got, " "); g != want {
			t.Errorf("after %s: %q, want %q", step, g, want)
		}
	}
	check("nothing", "")
	addTenant(t, db, "a", fleet.StatusReady)
	addTenant(t, db, "b", fleet.StatusReady)
	check("two tenants", "ready:2/0")
	must(t, db.UpdateTenant(ctx, "a", central.TenantUpdate{SizeBytes: ptr(int64(100))}))
	check("a resize", "ready:2/100")
	must(t, db.UpdateTenant(ctx, "a", central.TenantUpdate{Status: ptr(fleet.StatusDeleting)}))
	check("a move", "deleting:1/100 ready:1/0")
	must(t, db.ForgetTenant(ctx, "a", fleet.StatusDeleting))
	check("a removal", "ready:1/0")
	if n, err := db.CountStatus(ctx, fleet.StatusReady); err != nil || n != 1 {
		t.Errorf("CountStatus(ready) = %d, %v", n, err)
	}
}

func TestReconcile(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	if !db.LastScan(ctx).IsZero() {
		t.Fatal("a registry never scanned has a last scan")
	}
	for _, c := range []struct{ name, status string }{
		{"ready-seen", fleet.StatusReady}, {"ready-gone", fleet.StatusReady}, {"missing-back", fleet.StatusMissing},
		{"archived-back", fleet.StatusArchived}, {"failed-back", fleet.StatusFailed},
		{"creating-unseen", fleet.StatusCreating}, {"deleting-seen", fleet.StatusDeleting},
	} {
		addTenant(t, db, c.name, c.status)
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	must(t, db.UpdateTenant(ctx, "archived-back", central.TenantUpdate{ArchivedAt: &at}))
	written := time.Date(2026, 3, 17, 8, 0, 0, 0, time.UTC)
	seen := []central.Observed{
		{Name: "ready-seen", SizeBytes: 10, ModifiedAt: written},
		{Name: "missing-back", SizeBytes: 1}, {Name: "archived-back"}, {Name: "failed-back"},
		{Name: "deleting-seen", SizeBytes: 5},
		{Name: "new-one", PlatformID: "id-1", URL: "file:new.db", SizeBytes: 7},
		{Name: "not-a-tenant"},
	}
	accept := func(name string) bool { return name != "not-a-tenant" }
	res, err := db.Reconcile(ctx, "local", seen, accept)
	must(t, err)
	slices.Sort(res.Reappeared)
	if !slices.Equal(res.Adopted, []string{"new-one"}) || !slices.Equal(res.Missing, []string{"ready-gone"}) ||
		!slices.Equal(res.Reappeared, []string{"archived-back", "failed-back", "missing-back"}) || res.Updated != 1 {
		t.Fatalf("reconciled %+v", res)
	}
	for name, want := range map[string]string{
		"ready-seen": fleet.StatusReady, "ready-gone": fleet.StatusMissing, "missing-back": fleet.StatusReady,
		"archived-back": fleet.StatusReady, "failed-back": fleet.StatusReady, "creating-unseen": fleet.StatusCreating,
		"deleting-seen": fleet.StatusDeleting, "new-one": fleet.StatusReady,
	} {
		got, err := db.Tenant(ctx, name)
		must(t, err)
		if got.Status != want {
			t.Errorf("%s is %s, want %s", name, got.Status, want)
		}
	}
	if got, _ := db.Tenant(ctx, "archived-back"); !got.ArchivedAt.IsZero() {
		t.Errorf("a tenant back from the archive keeps its archive time %v", got.ArchivedAt)
	}
	if got, _ := db.Tenant(ctx, "new-one"); got.PlatformID != "id-1" || got.SizeBytes != 7 || !got.CreatedAt.Equal(clk.Now()) {
		t.Errorf("adopted %+v", got)
	}
	if got, _ := db.Tenant(ctx, "ready-seen"); got.SizeBytes != 10 || !got.LastWriteAt.Equal(written) {
		t.Errorf("refreshed %+v", got)
	}
	_, err = db.Tenant(ctx, "not-a-tenant")
	wantCode(t, err, fleet.ENOTFOUND)
	if !db.LastScan(ctx).Equal(clk.Now()) {
		t.Errorf("last scan %v, want %v", db.LastScan(ctx), clk.Now())
	}

	// The same list again changes nothing.
	clk.Add(time.Minute)
	res, err = db.Reconcile(ctx, "local", seen[:len(seen)-1], nil)
	must(t, err)
	if len(res.Adopted)+len(res.Missing)+len(res.Reappeared)+res.Updated != 0 {
		t.Errorf("an unchanged fleet reconciled as %+v", res)
	}
}

func TestCollectCandidates(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	written := time.Date(2026, 3, 17, 8, 0, 0, 0, time.UTC)
	for _, n := range []string{"a", "b", "c", "d"} {
		addTenant(t, db, n, fleet.StatusReady)
	}
	must(t, db.UpdateTenant(ctx, "c", central.TenantUpdate{Status: ptr(fleet.StatusMissing)}))
	must(t, db.UpdateTenant(ctx, "b", central.TenantUpdate{SizeBytes: ptr(int64(42)), LastWriteAt: &written}))
	for _, c := range []struct {
		after string
		limit int
		want  string
	}{
		{"", 10, "a: b:42@2026-03-17T08:00:00.000Z d:"},
		{"a", 1, "b:42@2026-03-17T08:00:00.000Z"},
		{"b", 10, "d:"},
		{"d", 10, ""},
	} {
		cs, err := db.CollectCandidates(ctx, c.after, c.limit)
		must(t, err)
		var got []string
		for _, x := range cs {
			got = append(got, x.Name+":"+x.Fingerprint)
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("after %q: %q, want %q", c.after, g, c.want)
		}
	}
}

// The type-ahead lists ready names starting with the typed text first,
// then those containing it.
func TestReadyNames(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	for _, n := range []string{"shop", "shop-2", "old-shop", "workshop", "bakery"} {
		addTenant(t, db, n, fleet.StatusReady)
	}
	addTenant(t, db, "shop-gone", fleet.StatusArchived)
	for _, c := range []struct {
		prefix string
		limit  int
		want   string
	}{
		{"", 0, "bakery old-shop shop shop-2 workshop"},
		{"shop", 0, "bakery old-shop shop shop-2 workshop"}, // no limit: every ready name
		{"shop", 10, "shop shop-2 old-shop workshop"},
		{"SHOP", 3, "shop shop-2 old-shop"},
		{"shop", 2, "shop shop-2"},
		{"", 2, "bakery old-shop"},
		{"zzz", 5, ""},
	} {
		got, err := db.ReadyNames(ctx, c.prefix, c.limit)
		must(t, err)
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("ReadyNames(%q, %d) = %q, want %q", c.prefix, c.limit, g, c.want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

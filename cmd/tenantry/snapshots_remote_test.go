package main

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

var takeCounts = regexp.MustCompile(`(\d+) tenants, (\d+) snapshotted, (\d+) unchanged`)

// takeNorm blanks what two snapshot runs over the same fleet differ in:
// the run's number, and which tenants the second found unchanged rather
// than copied (a tenant written within the last seconds is always
// copied).
func takeNorm(s string) string {
	if strings.HasPrefix(s, "{") {
		var v map[string]any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return "not JSON: " + s
		}
		v["snapshotted"], v["unchanged"] = v["snapshotted"].(float64)+v["unchanged"].(float64), 0
		delete(v, "run_id")
		b, _ := json.Marshal(v)
		return string(b)
	}
	return takeCounts.ReplaceAllStringFunc(textNorm(s), func(m string) string {
		n := takeCounts.FindStringSubmatch(m)
		a, _ := strconv.Atoi(n[2])
		b, _ := strconv.Atoi(n[3])
		return n[1] + " tenants, " + strconv.Itoa(a+b) + " copied or unchanged"
	})
}

// drillNorm blanks how long each restore took, and when a snapshot was
// last verified (the first of the two drills marks it).
func drillNorm(s string) string {
	if !strings.HasPrefix(s, "[") {
		return textNorm(s)
	}
	var v []map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "not JSON: " + s
	}
	for _, d := range v {
		delete(d, "took")
		delete(d["snapshot"].(map[string]any), "verified_at")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// timeNorm blanks the times in a message (a refusal of a time in the
// future says what time it is).
func timeNorm(s string) string { return rfc3339.ReplaceAllString(s, "<time>") }

// TestRemoteSnapshots runs snapshots take, list and verify and tenants
// restore --at locally and through the API of a console serving the same
// data, and wants the same output and exit status; a rollback through
// the API puts the snapshot back in the console's data.
func TestRemoteSnapshots(t *testing.T) {
	p := newRemotePair(t, fleet.RoleAdmin, "--snapshot-every", "0", "--rescan-every", "0", "--collect-every", "0")
	for _, n := range []string{"acme", "beta"} {
		p.local.ok("tenants", "create", n)
	}
	insert := "INSERT INTO orders(total_amount, created_at) VALUES (100, '2026-01-01 10:00:00')"
	orders := func() string {
		t.Helper()
		return p.local.ok("sql", "acme", "SELECT count(*) AS n FROM orders", "--format", "csv")
	}
	p.local.ok("sql", "acme", insert, "--write", "--yes")

	type taken struct {
		Tenants, Snapshotted, Unchanged, Failed int
		Errors                                  []fleet.TenantError
	}
	out := p.same(t, takeNorm, "snapshots", "take", "--json")
	if r := decode[taken](t, out); r.Tenants != 2 || r.Snapshotted+r.Unchanged != 2 || r.Failed != 0 || r.Errors == nil {
		t.Fatalf("take: %s", out)
	}
	p.same(t, takeNorm, "snapshots", "take")
	p.same(t, takeNorm, "snapshots", "take", "--tenant", "acme", "--json")
	p.same(t, nil, "snapshots", "take", "--tenant", "nope")
	p.same(t, nil, "snapshots", "take", "--tenant", "Bad_Name")
	p.same(t, nil, "snapshots", "frobnicate")

	p.same(t, nil, "snapshots", "list")
	out = p.same(t, nil, "snapshots", "list", "--json")
	if s := decode[[]fleet.Snapshot](t, out); len(s) != 2 || s[0].Tenant != "acme" || s[1].Tenant != "beta" {
		t.Fatalf("list: %s", out)
	}
	p.same(t, nil, "snapshots", "list", "acme")
	p.same(t, nil, "snapshots", "list", "acme", "--json")
	p.same(t, nil, "snapshots", "list", "Bad_Name")
	p.same(t, nil, "snapshots", "list", "acme", "beta")

	out = p.same(t, drillNorm, "snapshots", "verify", "--json")
	if d := decode[[]map[string]any](t, out); len(d) != 2 {
		t.Fatalf("verify: %s", out)
	}
	p.same(t, drillNorm, "snapshots", "verify", "--tenant", "acme")
	p.same(t, nil, "snapshots", "verify", "--tenant", "nope")
	p.same(t, nil, "snapshots", "verify", "--sample", "5000")

	// Roll back to after the snapshots, before the next write.
	at := time.Now().UTC().Format(time.RFC3339Nano)
	p.local.ok("sql", "acme", insert, "--write", "--yes")
	p.same(t, nil, "tenants", "restore", "acme", "--at", at) // no terminal, no --yes
	p.same(t, timeNorm, "tenants", "restore", "acme", "--at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "--yes")
	p.same(t, nil, "tenants", "restore", "acme", "--at", "2020-01-01T00:00:00Z", "--yes")
	p.same(t, nil, "tenants", "restore", "nope", "--at", at, "--yes")
	p.same(t, nil, "tenants", "restore", "acme", "--at", "yesterday", "--yes")
	if n := orders(); n != "n\n2\n" {
		t.Fatalf("the refusals changed acme: %q", n)
	}
	// Each way in turn, with a write between: each puts the snapshot back.
	lc, lo, le := p.local.run("", "tenants", "restore", "acme", "--at", at, "--yes")
	if n := orders(); lc != 0 || n != "n\n1\n" {
		t.Fatalf("local restore: exit %d %q, then %q", lc, le, n)
	}
	p.local.ok("sql", "acme", insert, "--write", "--yes")
	rc, ro, re := p.remote.run("", "tenants", "restore", "acme", "--at", at, "--yes")
	if n := orders(); rc != 0 || n != "n\n1\n" {
		t.Fatalf("remote restore: exit %d %q, then %q", rc, re, n)
	}
	if lo != ro || le != re || !strings.HasPrefix(le, "restored acme to its snapshot taken ") {
		t.Fatalf("restore --at\nlocal:  %q %q\nremote: %q %q", lo, le, ro, re)
	}
	// The databases each rollback replaced were kept.
	if s := decode[[]fleet.Snapshot](t, p.remote.ok("snapshots", "list", "acme", "--json")); len(s) < 4 {
		t.Fatalf("acme's snapshots after two rollbacks: %+v", s)
	}
}

// TestRemoteSnapshotsViewer: a viewer's token lists snapshots through
// the API and is refused taking them, the drill and a rollback, with the
// API's reason; a tenant the console never had is not found.
func TestRemoteSnapshotsViewer(t *testing.T) {
	p := newRemotePair(t, fleet.RoleViewer, "--snapshot-every", "0", "--rescan-every", "0", "--collect-every", "0")
	p.local.ok("tenants", "create", "acme")
	p.local.ok("snapshots", "take")
	if s := decode[[]fleet.Snapshot](t, p.remote.ok("snapshots", "list", "acme", "--json")); len(s) != 1 || s[0].Tenant != "acme" {
		t.Fatalf("viewer list: %+v", s)
	}
	at := time.Now().UTC().Format(time.RFC3339Nano)
	for _, args := range [][]string{
		{"snapshots", "take"},
		{"snapshots", "take", "--tenant", "acme"},
		{"snapshots", "verify"},
		{"tenants", "restore", "acme", "--at", at, "--yes"},
	} {
		code, out, errs := p.remote.run("", args...)
		if code != 1 || out != "" || !strings.Contains(errs, "viewer") {
			t.Errorf("tenantry %s as a viewer: exit %d %q %q", strings.Join(args, " "), code, out, errs)
		}
	}
	code, _, errs := p.remote.run("", "snapshots", "list", "nope")
	if code != 1 || !strings.Contains(errs, `Tenant "nope" not found`) {
		t.Errorf("list of an unknown tenant: exit %d %q", code, errs)
	}
}

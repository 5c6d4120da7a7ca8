package main

import (
	"strings"
	"testing"
)

// TestCLICollectShards: `collect --shard i/n` on each part collects every
// tenant once, says which part it was, and a bad shard is a usage error
// that queues nothing.
func TestCLICollectShards(t *testing.T) {
	c := newCLI(t)
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		c.ok("tenants", "create", "store-"+n)
	}
	type run struct {
		Shard   string
		Tenants int
		OK      int
		Errors  []struct{ Tenant string }
	}
	total := 0
	for _, s := range []string{"1/2", "2/2"} {
		r := decode[run](t, c.ok("collect", "--date", "2026-11-20", "--shard", s, "--json"))
		if r.Shard != s || r.OK != r.Tenants || len(r.Errors) != 0 {
			t.Fatalf("shard %s: %+v", s, r)
		}
		total += r.Tenants
	}
	if total != 8 {
		t.Fatalf("the two shards collected %d tenants, want 8", total)
	}
	if out := c.ok("collect", "--date", "2026-11-20", "--shard", "2/2"); !strings.HasPrefix(out, "shard 2/2: collection run 3,") {
		t.Fatalf("text output: %q", out)
	}
	for _, bad := range []string{"0/2", "3/2", "2", "x/y"} {
		code, _, errs := c.run("", "collect", "--shard", bad)
		if code != 2 || !strings.Contains(errs, "is not i/n") {
			t.Errorf("--shard %s: exit %d, %q", bad, code, errs)
		}
	}
}

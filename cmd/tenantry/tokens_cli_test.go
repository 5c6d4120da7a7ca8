package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
)

// TestTokensCommands: an operator makes tokens from the shell and gets
// each secret once (alone on stdout, or in JSON), lists them without
// secrets, and revokes one; bad input is a usage error that makes nothing;
// every change is audited as the shell user, never with a secret.
func TestTokensCommands(t *testing.T) {
	c := newCLI(t)
	c.env["USER"] = "ops"

	code, out, errs := c.run("", "tokens", "create", "ci-deploy", "--role", "admin")
	secret := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(secret, central.TokenPrefix) || strings.Count(out, "\n") != 1 {
		t.Fatalf("tokens create: exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errs, "not shown again") || strings.Contains(errs, secret) {
		t.Errorf("tokens create's notice: %q", errs)
	}

	var made struct {
		Name, Role, Token, Secret, Prefix, Status string
		CreatedBy                                 string  `json:"created_by"`
		ExpiresAt                                 *string `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(c.ok("tokens", "create", "reports", "--role", "viewer", "--expires", "never", "--json")), &made); err != nil {
		t.Fatal(err)
	}
	if made.Name != "reports" || made.Role != "viewer" || !strings.HasPrefix(made.Token, made.Prefix) || made.Secret != made.Token ||
		made.ExpiresAt != nil || made.Status != "live" || made.CreatedBy != "cli:ops" {
		t.Fatalf("tokens create --json: %+v", made)
	}

	out = c.ok("tokens", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[1], "reports") ||
		!strings.Contains(lines[2], "ci-deploy") || !strings.Contains(lines[2], "live") || !strings.Contains(lines[2], "cli:ops") {
		t.Fatalf("tokens list:\n%s", out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, made.Token) {
		t.Fatal("tokens list shows a secret")
	}
	var list []struct{ Name, Status string }
	if err := json.Unmarshal([]byte(c.ok("tokens", "list", "--json")), &list); err != nil || len(list) != 2 {
		t.Fatalf("tokens list --json: %+v %v", list, err)
	}

	// Revoking asks; without a terminal it needs --yes.
	code, _, errs = c.run("", "tokens", "revoke", "ci-deploy")
	if code != 2 || !strings.Contains(errs, "--yes") {
		t.Errorf("tokens revoke without --yes: exit %d %q", code, errs)
	}
	if out := c.ok("tokens", "revoke", "ci-deploy", "--yes"); !strings.Contains(out, "revoked token ci-deploy") {
		t.Errorf("tokens revoke: %q", out)
	}
	if code, _, errs := c.run("", "tokens", "revoke", "ci-deploy", "--yes"); code != 1 || !strings.Contains(errs, "No live token") {
		t.Errorf("revoking it again: exit %d %q", code, errs)
	}

	// Bad input: exit 2, one clear line, nothing made.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tokens", "create", "Bad Name", "--role", "admin"}, "is invalid"},
		{[]string{"tokens", "create", "ok", "--role", "root"}, "root"},
		{[]string{"tokens", "create", "ok", "--role", "admin", "--expires", "forever"}, "not a duration"},
		{[]string{"tokens", "create", "ok"}, "--role is required"},
		{[]string{"tokens", "create", "--role", "admin"}, "expected 1 argument"},
		{[]string{"tokens", "frobnicate"}, "unknown tokens subcommand"},
		{[]string{"tokens", "revoke", "Not Valid", "--yes"}, "is invalid"},
	} {
		code, out, errs := c.run("", tc.args...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("tenantry %q: exit %d, stdout %q, stderr %q", tc.args, code, out, errs)
		}
	}

	db, err := central.Open(context.Background(), "file:"+filepath.Join(c.data, "central.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if ts, _ := db.APITokens(context.Background()); len(ts) != 2 {
		t.Fatalf("%d tokens after bad input, want 2", len(ts))
	}
	es, err := db.AuditLog(context.Background(), central.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range es {
		counts[e.Action+" "+e.Outcome]++
		if e.Actor != "cli:ops" {
			t.Errorf("audited as %q: %+v", e.Actor, e)
		}
		for _, s := range []string{secret, made.Token} {
			if strings.Contains(e.Detail+e.Error, s[len(central.TokenPrefix):len(central.TokenPrefix)+12]) {
				t.Errorf("audit entry holds a secret: %+v", e)
			}
		}
	}
	// Two made, one revoked; three refused creates (the missing --role and
	// the missing name never reach the service), one refused revoke.
	if counts["api_token.create ok"] != 2 || counts["api_token.revoke ok"] != 1 || counts["api_token.create error"] != 3 || counts["api_token.revoke error"] != 1 {
		t.Errorf("audit entries: %v", counts)
	}
}

package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// TestUsersCommands: an operator locked out of the browser lists users,
// changes a role, disables and enables a user and resets a password from
// the shell; each change is audited and the last admin is kept.
func TestUsersCommands(t *testing.T) {
	c := newCLI(t)
	c.env["TENANTRY_PASSWORD"] = "first-long-password"
	c.env["USER"] = "ops"
	c.ok("users", "add", "admin@example.com")
	c.ok("users", "add", "v@example.com", "--role", "viewer")

	// Sessions made as the console would, to see which commands end them.
	db, err := central.Open(context.Background(), "file:"+filepath.Join(c.data, "central.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	session := func(email string) string {
		t.Helper()
		u, err := db.UserByEmail(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := db.CreateSession(context.Background(), u.ID, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	live := func(tok string) bool {
		_, err := db.SessionUser(context.Background(), tok)
		return err == nil
	}
	vtok := session("v@example.com")

	out := c.ok("users", "list")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "EMAIL") ||
		!strings.Contains(lines[2], "v@example.com") || !strings.Contains(lines[2], "viewer") || !strings.Contains(lines[2], "active") {
		t.Fatalf("users list:\n%s", out)
	}
	var list []central.UserInfo
	if err := json.Unmarshal([]byte(c.ok("users", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[1].Email != "v@example.com" || list[1].Role != "viewer" || list[1].Sessions != 1 || !list[0].LastSeenAt.IsZero() {
		t.Fatalf("users list --json: %+v", list)
	}

	if out := c.ok("users", "set-role", "V@example.com", "admin"); !strings.Contains(out, "v@example.com is now admin") {
		t.Errorf("set-role: %q", out)
	}
	if !live(vtok) {
		t.Error("a role change ended the user's session")
	}
	c.ok("users", "set-role", "admin@example.com", "viewer")
	// v is now the last admin.
	for _, args := range [][]string{{"users", "set-role", "v@example.com", "viewer"}, {"users", "disable", "v@example.com"}} {
		code, _, errs := c.run("", args...)
		if code != 1 || !strings.Contains(errs, "v@example.com is the last active admin") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("tenantry %q: exit %d %q, want the last admin kept", args, code, errs)
		}
	}
	if !live(vtok) {
		t.Fatal("a refused disable ended the session")
	}
	c.ok("users", "set-role", "admin@example.com", "admin")
	if out := c.ok("users", "disable", "v@example.com"); !strings.Contains(out, "disabled v@example.com (1 session ended)") {
		t.Errorf("disable: %q", out)
	}
	if live(vtok) {
		t.Error("a disabled user's session goes on")
	}
	if _, err := db.Login(context.Background(), "v@example.com", "first-long-password", "127.0.0.1"); err == nil {
		t.Error("a disabled user logs in")
	}
	c.ok("users", "enable", "v@example.com")
	if _, err := db.Login(context.Background(), "v@example.com", "first-long-password", "127.0.0.1"); err != nil {
		t.Errorf("an enabled user cannot log in: %v", err)
	}

	// passwd: from stdin without TENANTRY_PASSWORD, ending every session.
	atok, atok2 := session("admin@example.com"), session("admin@example.com")
	delete(c.env, "TENANTRY_PASSWORD")
	code, out, errs := c.run("second-long-password\n", "users", "passwd", "admin@example.com")
	if code != 0 || !strings.Contains(out, "2 sessions ended") {
		t.Fatalf("passwd: %d %q %q", code, out, errs)
	}
	if live(atok) || live(atok2) {
		t.Error("sessions outlived a password change")
	}
	if _, err := db.Login(context.Background(), "admin@example.com", "second-long-password", "127.0.0.1"); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}
	if code, _, errs := c.run("short\n", "users", "passwd", "admin@example.com"); code != 1 || !strings.Contains(errs, "too short") {
		t.Errorf("short password: %d %q", code, errs)
	}

	// Refusals: clear, one line, the right exit status.
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"users"}, 2, "add, list, set-role, disable, enable or passwd"},
		{[]string{"users", "remove", "v@example.com"}, 2, `unknown users subcommand "remove"`},
		{[]string{"users", "set-role", "v@example.com"}, 2, "expected 2 argument"},
		{[]string{"users", "set-role", "v@example.com", "root"}, 1, `Role "root" is invalid`},
		{[]string{"users", "set-role", "nobody@example.com", "admin"}, 1, "No user nobody@example.com"},
		{[]string{"users", "disable", "not-an-email"}, 1, "not a valid e-mail"},
		{[]string{"users", "enable"}, 2, "expected 1 argument"},
		{[]string{"users", "list", "extra"}, 2, "expected 0 argument"},
		{[]string{"users", "passwd", "nobody@example.com"}, 1, "No user nobody@example.com"},
	} {
		code, _, errs := c.run("third-long-password\n", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("tenantry %q: exit %d %q, want %d %q", tc.args, code, errs, tc.code, tc.want)
		}
	}

	// The audit log has each change, with the shell user and the outcome.
	es, err := db.AuditLog(context.Background(), central.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(es) - 1; i >= 0; i-- {
		if a := es[i]; strings.HasPrefix(a.Action, "user.") && a.Action != "user.login" {
			if a.Actor != "cli:ops" {
				t.Errorf("%s audited as by %q", a.Action, a.Actor)
			}
			got = append(got, a.Action+" "+a.Outcome+" "+a.Detail)
		}
	}
	want := []string{
		"user.add ok admin@example.com: as admin",
		"user.add ok v@example.com: as viewer",
		"user.role ok v@example.com: viewer → admin",
		"user.role ok admin@example.com: admin → viewer",
		"user.role error v@example.com: admin → viewer",
		"user.disable error v@example.com",
		"user.role ok admin@example.com: viewer → admin",
		"user.disable ok v@example.com: 1 session ended",
		"user.enable ok v@example.com",
		"user.password ok admin@example.com: reset, 2 sessions ended",
		"user.role error v@example.com: admin → root",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if u, _ := db.UserByEmail(context.Background(), "v@example.com"); u.Role != fleet.RoleAdmin || u.Disabled {
		t.Errorf("v@example.com ends as %+v", u)
	}
}

// TestUsersPasswordRules: the CLI refuses a password bcrypt would cut
// short (over 72 bytes) or the rules refuse, with one clear line, from
// the environment and from stdin alike, and adds no user.
func TestUsersPasswordRules(t *testing.T) {
	c := newCLI(t)
	long := strings.Repeat("correct horse ", 6) // 84 bytes
	c.env["TENANTRY_PASSWORD"] = long
	if code, _, errs := c.run("", "users", "add", "admin@example.com"); code != 1 || !strings.Contains(errs, "too long: at most 72 bytes") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("from the environment: exit %d, %q", code, errs)
	}
	delete(c.env, "TENANTRY_PASSWORD")
	for pw, want := range map[string]string{long: "too long", "short one": "too short", "admin@example.com-ok": "too easy"} {
		if code, _, errs := c.run(pw+"\n", "users", "add", "admin@example.com"); code != 1 || !strings.Contains(errs, want) {
			t.Fatalf("%q on stdin: exit %d, %q", pw, code, errs)
		}
	}
	if out := c.ok("users", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("a user was added: %s", out)
	}
	if code, _, errs := c.run(strings.Repeat("seventy2 ", 8)+"\n", "users", "add", "admin@example.com"); code != 0 {
		t.Fatalf("a 72-byte password: exit %d, %q", code, errs)
	}
}

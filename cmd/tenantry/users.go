package main

import (
	"bufio"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
	"golang.org/x/term"
)

func (e *env) users(args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usagef("users needs a subcommand: add")
	}
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	role := fs.String("role", fleet.RoleAdmin, "admin or viewer")
	pos, err := parse(fs, args[1:], e.stderr, "users add EMAIL [--role admin|viewer]", 1)
	if err != nil {
		return err
	}
	email, err := fleet.NormalizeEmail(pos[0])
	if err != nil {
		return err
	}
	if err := fleet.ValidateRole(*role); err != nil {
		return err
	}
	password, err := e.password()
	if err != nil {
		return err
	}
	a, err := e.open(e.logger(slog.LevelWarn), collect.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.db.AddUser(e.ctx, email, password, *role)
	if err != nil {
		return err
	}
	_ = a.db.Audit(e.ctx, fleet.AuditEntry{Actor: e.cliActor(), Action: "user.add", Detail: u.Email + " as " + u.Role})
	fmt.Fprintf(e.stdout, "added %s (%s)\n", u.Email, u.Role)
	return nil
}

// password reads a new password from TENANTRY_PASSWORD, else from a
// terminal prompt without echo, else from the first line of stdin.
func (e *env) password() (string, error) {
	if p := e.getenv("TENANTRY_PASSWORD"); p != "" {
		return p, fleet.ValidatePassword(p)
	}
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		return string(b), fleet.ValidatePassword(string(b))
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", usagef("no password: set TENANTRY_PASSWORD or pipe it on stdin")
	}
	p := strings.TrimRight(line, "\r\n")
	return p, fleet.ValidatePassword(p)
}

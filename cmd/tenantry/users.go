package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"golang.org/x/term"
)

// The users commands are how an operator locked out of the browser gets
// back in: they need only the central database, not the platform, and
// they are audited as the shell user.

const usersUsage = "users needs a subcommand: add, list, set-role, disable, enable or passwd"

func (e *env) users(args []string) error {
	if len(args) == 0 {
		return usagef(usersUsage)
	}
	switch args[0] {
	case "add":
		return e.usersAdd(args[1:])
	case "list":
		return e.usersList(args[1:])
	case "set-role":
		return e.usersSetRole(args[1:])
	case "disable":
		return e.usersSetDisabled(args[1:], true)
	case "enable":
		return e.usersSetDisabled(args[1:], false)
	case "passwd":
		return e.usersPasswd(args[1:])
	}
	return usagef("unknown users subcommand %q: %s", args[0], strings.TrimPrefix(usersUsage, "users needs a subcommand: "))
}

// openCentral opens the central database alone.
func (e *env) openCentral() (*central.DB, error) {
	db, err := central.Open(e.ctx, e.cfg.CentralURL, e.cfg.CentralToken, central.WithClock(e.now))
	if err != nil {
		return nil, fmt.Errorf("open central database: %w", err)
	}
	return db, nil
}

// auditUser records a users command; the user it concerns leads the
// detail, as on the console.
func (e *env) auditUser(db *central.DB, action, target, detail string, err error) {
	a := fleet.AuditEntry{Actor: e.cliActor(), Action: action, Detail: target, Outcome: "ok"}
	if detail != "" {
		a.Detail += ": " + detail
	}
	if err != nil {
		a.Outcome, a.Error = "error", fleet.ErrorMessage(err)
	}
	_ = db.Audit(e.ctx, a)
}

// userArg parses a subcommand that takes an e-mail (and nargs-1 more
// arguments) and opens the central database.
func (e *env) userArg(fs *flag.FlagSet, args []string, synopsis string, nargs int) ([]string, *central.DB, error) {
	pos, err := parse(fs, args, e.stderr, synopsis, nargs)
	if err != nil {
		return nil, nil, err
	}
	if pos[0], err = fleet.NormalizeEmail(pos[0]); err != nil {
		return nil, nil, err
	}
	db, err := e.openCentral()
	return pos, db, err
}

func (e *env) usersAdd(args []string) error {
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	role := fs.String("role", fleet.RoleAdmin, "admin or viewer")
	pos, err := parse(fs, args, e.stderr, "users add EMAIL [--role admin|viewer]", 1)
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
	db, err := e.openCentral()
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.AddUser(e.ctx, email, password, *role)
	if err != nil {
		e.auditUser(db, "user.add", email, "as "+*role, err)
		return err
	}
	e.auditUser(db, "user.add", u.Email, "as "+u.Role, nil)
	fmt.Fprintf(e.stdout, "added %s (%s)\n", u.Email, u.Role)
	return nil
}

func (e *env) usersList(args []string) error {
	fs := flag.NewFlagSet("users list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args, e.stderr, "users list [--json]", 0); err != nil {
		return err
	}
	db, err := e.openCentral()
	if err != nil {
		return err
	}
	defer db.Close()
	us, err := db.Users(e.ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if us == nil {
			us = []central.UserInfo{}
		}
		return json.NewEncoder(e.stdout).Encode(us)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "EMAIL\tROLE\tSTATUS\tSESSIONS\tLAST SEEN\tCREATED")
	for _, u := range us {
		status, seen := "active", "never"
		if u.Disabled {
			status = "disabled"
		}
		if !u.LastSeenAt.IsZero() {
			seen = u.LastSeenAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", u.Email, u.Role, status, u.Sessions, seen, u.CreatedAt.UTC().Format(time.RFC3339))
	}
	return w.Flush()
}

func (e *env) usersSetRole(args []string) error {
	fs := flag.NewFlagSet("users set-role", flag.ContinueOnError)
	pos, db, err := e.userArg(fs, args, "users set-role EMAIL admin|viewer", 2)
	if err != nil {
		return err
	}
	defer db.Close()
	email, role := pos[0], pos[1]
	u, err := db.UserInfoByEmail(e.ctx, email)
	if err != nil {
		return err
	}
	detail := u.Role + " → " + fleet.Truncate(role, 20)
	if err := fleet.ValidateRole(role); err != nil {
		e.auditUser(db, "user.role", u.Email, detail, err)
		return err
	}
	if role == u.Role {
		fmt.Fprintf(e.stdout, "%s is already %s\n", u.Email, role)
		return nil
	}
	if err := db.SetRole(e.ctx, u.ID, role); err != nil {
		e.auditUser(db, "user.role", u.Email, detail, err)
		return err
	}
	e.auditUser(db, "user.role", u.Email, detail, nil)
	fmt.Fprintf(e.stdout, "%s is now %s\n", u.Email, role)
	return nil
}

func (e *env) usersSetDisabled(args []string, disabled bool) error {
	name, action := "enable", "user.enable"
	if disabled {
		name, action = "disable", "user.disable"
	}
	fs := flag.NewFlagSet("users "+name, flag.ContinueOnError)
	pos, db, err := e.userArg(fs, args, "users "+name+" EMAIL", 1)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.UserInfoByEmail(e.ctx, pos[0])
	if err != nil {
		return err
	}
	if u.Disabled == disabled {
		fmt.Fprintf(e.stdout, "%s is already %sd\n", u.Email, name)
		return nil
	}
	ended, err := db.SetDisabled(e.ctx, u.ID, disabled)
	if err != nil {
		e.auditUser(db, action, u.Email, "", err)
		return err
	}
	if disabled {
		e.auditUser(db, action, u.Email, plural(ended, "session")+" ended", nil)
		fmt.Fprintf(e.stdout, "disabled %s (%s ended)\n", u.Email, plural(ended, "session"))
		return nil
	}
	e.auditUser(db, action, u.Email, "", nil)
	fmt.Fprintf(e.stdout, "enabled %s\n", u.Email)
	return nil
}

func (e *env) usersPasswd(args []string) error {
	fs := flag.NewFlagSet("users passwd", flag.ContinueOnError)
	pos, err := parse(fs, args, e.stderr, "users passwd EMAIL", 1)
	if err != nil {
		return err
	}
	email, err := fleet.NormalizeEmail(pos[0])
	if err != nil {
		return err
	}
	password, err := e.password()
	if err != nil {
		return err
	}
	db, err := e.openCentral()
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.UserInfoByEmail(e.ctx, email)
	if err != nil {
		return err
	}
	ended, err := db.SetPassword(e.ctx, u.ID, password)
	if err != nil {
		e.auditUser(db, "user.password", u.Email, "reset", err)
		return err
	}
	e.auditUser(db, "user.password", u.Email, "reset, "+plural(ended, "session")+" ended", nil)
	fmt.Fprintf(e.stdout, "changed the password of %s (%s ended)\n", u.Email, plural(ended, "session"))
	return nil
}

// plural is "1 session" or "3 sessions".
func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// password reads a new password from TENANTRY_PASSWORD, else from a
// terminal prompt without echo, else from the first line of stdin.
func (e *env) password() (string, error) {
	if p := e.cfg.Password; p != "" {
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

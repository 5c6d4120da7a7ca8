package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tokens"
)

// The tokens commands make, list and revoke the API's bearer tokens. Like
// the users commands they need only the central database and run locally
// even when --server is set: a token is what --server needs in the first
// place. They are audited as the shell user.

const tokensUsage = "tokens needs a subcommand: create, list or revoke"

func (e *env) tokens(args []string) error {
	if len(args) == 0 {
		return usagef(tokensUsage)
	}
	switch args[0] {
	case "create":
		return e.tokensCreate(args[1:])
	case "list":
		return e.tokensList(args[1:])
	case "revoke":
		return e.tokensRevoke(args[1:])
	}
	return usagef("unknown tokens subcommand %q: %s", args[0], strings.TrimPrefix(tokensUsage, "tokens needs a subcommand: "))
}

// tokenOut is a token as the commands print it in JSON: expires_at is
// null for a token that never expires.
type tokenOut struct {
	fleet.APIToken
	ExpiresAt *time.Time `json:"expires_at"`
	Status    string     `json:"status"`
}

func newTokenOut(t fleet.APIToken, status string) tokenOut {
	o := tokenOut{APIToken: t, Status: status}
	if !t.ExpiresAt.IsZero() {
		o.ExpiresAt = &t.ExpiresAt
	}
	return o
}

func (e *env) tokensCreate(args []string) error {
	const synopsis = "tokens create NAME --role admin|viewer [--expires 90d] [--json]"
	fs := flag.NewFlagSet("tokens create", flag.ContinueOnError)
	role := fs.String("role", "", "admin (may change things) or viewer (reads only); required")
	expires := fs.String("expires", tokens.DefaultExpiry, "lifetime such as 30d, 90d, 12h, or never")
	asJSON := fs.Bool("json", false, "print JSON (the token with its secret in \"token\")")
	pos, err := parse(fs, args, e.stderr, synopsis, 1)
	if err != nil {
		return err
	}
	if *role == "" {
		return usagef("--role is required: admin or viewer (usage: tenantry %s)", synopsis)
	}
	db, err := e.openCentral()
	if err != nil {
		return err
	}
	defer db.Close()
	secret, t, err := tokens.New(db).Create(e.ctx, e.cliActor(), pos[0], *role, *expires)
	if err != nil {
		// A bad name, role or expiry is a mistake in the command line.
		if fleet.ErrorCode(err) == fleet.EINVALID {
			return usagef("%s", fleet.ErrorMessage(err))
		}
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(struct {
			tokenOut
			Token  string `json:"token"`
			Secret string `json:"secret"`
		}{newTokenOut(*t, tokens.StatusLive), secret, secret})
	}
	// The secret alone on stdout, so that TOKEN=$(tenantry tokens create …)
	// holds just it; the warning goes to the person at the terminal.
	fmt.Fprintln(e.stdout, secret)
	exp := "never expires"
	if !t.ExpiresAt.IsZero() {
		exp = "expires " + t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(e.stderr, "Token %s (%s, %s) made. Store it now: it is not shown again (only its hash is kept).\n", t.Name, t.Role, exp)
	return nil
}

func (e *env) tokensList(args []string) error {
	fs := flag.NewFlagSet("tokens list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args, e.stderr, "tokens list [--json]", 0); err != nil {
		return err
	}
	db, err := e.openCentral()
	if err != nil {
		return err
	}
	defer db.Close()
	svc := tokens.New(db)
	ts, err := svc.List(e.ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]tokenOut, 0, len(ts))
		for _, t := range ts {
			out = append(out, newTokenOut(t, svc.Status(t)))
		}
		return json.NewEncoder(e.stdout).Encode(out)
	}
	orNever := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format(time.RFC3339)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tPREFIX\tROLE\tSTATUS\tCREATED BY\tCREATED\tLAST USED\tEXPIRES")
	for _, t := range ts {
		fmt.Fprintf(w, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Prefix, t.Role, svc.Status(t), t.CreatedBy,
			t.CreatedAt.UTC().Format(time.RFC3339), orNever(t.LastUsedAt), orNever(t.ExpiresAt))
	}
	return w.Flush()
}

func (e *env) tokensRevoke(args []string) error {
	fs := flag.NewFlagSet("tokens revoke", flag.ContinueOnError)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	pos, err := parse(fs, args, e.stderr, "tokens revoke NAME [--yes]", 1)
	if err != nil {
		return err
	}
	name := pos[0]
	if err := fleet.ValidateTokenName(name); err != nil {
		return usagef("%s", fleet.ErrorMessage(err))
	}
	db, err := e.openCentral()
	if err != nil {
		return err
	}
	defer db.Close()
	svc := tokens.New(db)
	// Check there is something to revoke before asking to confirm.
	ts, err := svc.List(e.ctx)
	if err != nil {
		return err
	}
	found := false
	for _, t := range ts {
		found = found || t.Name == name && t.RevokedAt.IsZero()
	}
	if !found {
		// Nothing to confirm: the service refuses it, and audits that.
		_, err := svc.Revoke(e.ctx, e.cliActor(), name)
		return err
	}
	if !*yes {
		prompt := fmt.Sprintf("Revoke token %s? Its calls are refused from now on, for good. Type its name to confirm: ", name)
		if err := e.confirmWith(name, prompt, "revoke token "+name); err != nil {
			return err
		}
	}
	t, err := svc.Revoke(e.ctx, e.cliActor(), name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked token %s (%s): its calls are refused from now on\n", t.Name, t.Role)
	return nil
}

// Command tenantry is the admin console for database-per-tenant SaaS: a
// web console (serve) and a CLI over the same services.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errHelp ends a command that printed its help.
var errHelp = errors.New("help")

// exitCode prints err as one line and maps it to the exit status.
func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "tenantry: %s\nRun 'tenantry --help' for usage.\n", ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "tenantry: %s\n", oneLine(err))
		return 1
	}
}

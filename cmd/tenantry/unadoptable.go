package main

import (
	"fmt"
	"strconv"

	"github.com/tenantry/tenantry/internal/platform"
)

// noteUnadoptable writes a line on stderr for each file in the tenants
// directory that the rescan could not adopt, so that whoever dropped it
// there learns why no tenant appeared; stdout (the table or the JSON
// document) is unchanged.
func (e *env) noteUnadoptable(files []platform.Skipped) {
	for _, f := range files {
		fmt.Fprintf(e.stderr, "tenantry: not adopted: %s: %s\n", printable(f.File), f.Reason)
	}
}

// printable quotes a file name that holds anything a terminal would
// interpret (a newline, an escape sequence), so a name cannot forge lines.
func printable(name string) string {
	if q := strconv.Quote(name); q[1:len(q)-1] != name {
		return q
	}
	return name
}

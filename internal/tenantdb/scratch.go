package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/tenantry/tenantry/internal/fleet"
)

// ErrDamaged is the cause of Check's and CheckScratch's errors when SQLite
// found a database damaged (or could not read it as one at all).
var ErrDamaged = errors.New("database damaged")

// Check runs an integrity pragma, "quick_check" or "integrity_check",
// through q (inside its transaction, when q is one). Damage is an EINVALID
// error whose cause is ErrDamaged and whose message names the first
// problems SQLite listed; a busy database is SQLite's error as it is.
func Check(ctx context.Context, q Querier, pragma string) error {
	rows, err := q.QueryContext(ctx, "PRAGMA "+pragma)
	if err != nil {
		return checkError(ctx, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() && len(problems) < 5 {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return checkError(ctx, err)
	}
	if len(problems) > 0 {
		return fleet.Wrap(fleet.EINVALID, ErrDamaged, "%s found damage: %s", pragma, fleet.Truncate(strings.Join(problems, "; "), 300))
	}
	return nil
}

func checkError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if Code(err) == fleet.EUNAVAILABLE {
		return Classify(err)
	}
	return fleet.Wrap(fleet.EINVALID, ErrDamaged, "not a usable SQLite database: %v", err)
}

// OpenScratch opens a SQLite file of Tenantry's own making (a snapshot's
// copy, a restored file), one connection at most, with the driver
// directly: a connector per scratch file must not be kept (see Open). It
// is read through a memory map, which no other process truncates.
func OpenScratch(path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("mode", "rw")
	q.Add("_pragma", "mmap_size(1073741824)")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// CheckScratch is Check on a scratch file (see OpenScratch).
func CheckScratch(ctx context.Context, path, pragma string) error {
	db, err := OpenScratch(path)
	if err != nil {
		return err
	}
	defer db.Close()
	return Check(ctx, db, pragma)
}

package tenantdb

import (
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"unicode"

	"github.com/tenantry/tenantry/internal/fleet"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors from the databases are told apart here, once for every package:
// a local database's errors carry SQLite's result code (*sqlite.Error),
// QueryOnce's the HTTP status or the code sqld named; libsql-client-go,
// the way to every other remote statement, hands over only text, so for
// its errors the text is read.

// Classify returns err as a *fleet.Error with the code Code gives it,
// keeping err as the cause and its text as the message. An error that
// has no such code, or is a *fleet.Error already, is returned as it is.
func Classify(err error) error {
	var fe *fleet.Error
	if err == nil || errors.As(err, &fe) {
		return err
	}
	if code := Code(err); code != "" {
		return fleet.Wrap(code, err, "%s", err.Error())
	}
	return err
}

// Code is the fleet code the driver error in err's chain deserves, ""
// if none:
//   - fleet.EUNAVAILABLE when trying again may help: a busy or locked
//     database, a deadline passed, a connection refused, reset or cut
//     short, a network timeout, or an HTTP 429, 502, 503 or 504;
//   - fleet.ECONFLICT for a UNIQUE or PRIMARY KEY violation.
func Code(err error) string {
	var se *sqlite.Error
	var he *hranaError
	var st *StatusError
	var ne net.Error
	var fe *fleet.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return sqliteCode(se.Code())
	case errors.As(err, &he):
		return hranaCode(he)
	case errors.As(err, &st):
		return statusCode(st.Status)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout(),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		// io.EOF: a server that closed the connection instead of answering.
		return fleet.EUNAVAILABLE
	case errors.As(err, &fe):
		return Code(fe.Err) // our own words are not a driver's: only a cause's are read
	}
	return clientCode(err.Error())
}

// sqliteCode is the fleet code of a SQLite result code (extended codes
// included: the primary code is its low byte).
func sqliteCode(code int) string {
	switch code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fleet.ECONFLICT
	}
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fleet.EUNAVAILABLE
	}
	return ""
}

// hranaCode is the fleet code of a statement's failure as sqld reports
// it: sqld names only the primary result code, so a constraint's kind is
// in the message.
func hranaCode(e *hranaError) string {
	switch e.code {
	case "SQLITE_BUSY", "SQLITE_LOCKED":
		return fleet.EUNAVAILABLE
	case "SQLITE_CONSTRAINT":
		return messageCode(e.msg)
	}
	return ""
}

// statusCode is the fleet code of a database server's HTTP status.
func statusCode(status int) string {
	switch status {
	case 429, 502, 503, 504:
		return fleet.EUNAVAILABLE
	}
	return ""
}

// clientStatus is how libsql-client-go writes an HTTP status other than
// 200 into its error's text, its only trace.
var clientStatus = regexp.MustCompile(`error code (\d{3}): `)

// clientCode is the fleet code of a libsql-client-go error, from its
// text: the HTTP status, or sqld's message (the client drops sqld's result
// code and keeps the message).
func clientCode(msg string) string {
	if m := clientStatus.FindStringSubmatch(msg); m != nil {
		status, _ := strconv.Atoi(m[1])
		return statusCode(status)
	}
	return messageCode(msg)
}

// messageCode is the fleet code of SQLite's message where no code came
// with it.
func messageCode(msg string) string {
	switch {
	case strings.Contains(msg, "database is locked"), strings.Contains(msg, "database table is locked"):
		return fleet.EUNAVAILABLE // SQLITE_BUSY, SQLITE_LOCKED
	case strings.Contains(msg, "UNIQUE constraint failed"), strings.Contains(msg, "PRIMARY KEY constraint failed"):
		return fleet.ECONFLICT
	}
	return ""
}

// localCode is the SQLite result code of a local database's error in
// err's chain, 0 if there is none.
func localCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// Interrupted reports whether SQLite stopped a local database's statement
// because its context ended (SQLITE_INTERRUPT). The driver reports it
// without the context's error.
func Interrupted(err error) bool { return localCode(err)&0xff == sqlite3.SQLITE_INTERRUPT }

// NotAuthorized reports whether a local database's authorizer refused a
// statement (SQLITE_AUTH): on a console connection, the guard of
// OpenConsoleFile.
func NotAuthorized(err error) bool { return localCode(err)&0xff == sqlite3.SQLITE_AUTH }

// TooBig reports whether a value of a local database's statement would
// pass its length limit (SQLITE_TOOBIG): on a console connection,
// MaxValueLength.
func TooBig(err error) bool { return localCode(err)&0xff == sqlite3.SQLITE_TOOBIG }

// TooManyColumns reports whether a local database's statement would pass
// its column limit: on a console connection, MaxResultColumns. SQLite has
// no code of its own for it (SQLITE_ERROR is every mistake in the SQL),
// so the message tells.
func TooManyColumns(err error) bool {
	return localCode(err) == sqlite3.SQLITE_ERROR && strings.Contains(err.Error(), "too many columns")
}

// NoSuchTable reports whether a statement failed for naming table (in any
// schema: "t.table" too) that the database does not have. SQLite has no
// code of its own for it (SQLITE_ERROR, which sqld calls SQLITE_UNKNOWN),
// and libsql-client-go passes on only the text, so the message tells.
func NoSuchTable(err error, table string) bool {
	if err == nil {
		return false
	}
	if code := localCode(err); code != 0 && code != sqlite3.SQLITE_ERROR {
		return false
	}
	_, name, ok := strings.Cut(err.Error(), "no such table: ")
	if !ok {
		return false
	}
	if end := strings.IndexFunc(name, func(r rune) bool {
		return r != '_' && r != '.' && !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}); end >= 0 {
		name = name[:end] // the message may go on: " (1)"
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name == table
}

// Package console runs operators' SQL against tenant databases: one
// tenant, or many at once with the results merged. Safety comes from the
// connection the platform opens (read-only unless asked otherwise, no
// other files reachable), never from reading the SQL; this package adds
// the time limit, the row cap and the merging.
package console

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// Limits bound a run, and each tenant of a fan-out.
type Limits struct {
	// Timeout interrupts the query (SQLite's interrupt, not just a
	// deadline on waiting).
	Timeout time.Duration
	// MaxRows caps the rows read; past it the result says Truncated.
	MaxRows int
	// MaxBytes caps the bytes of the rows kept (text and blobs by their
	// length, numbers 8); past it the result says Truncated and
	// CutAtBytes. 0 is DefaultMaxBytes, < 0 no cap. A value itself is at
	// most tenantdb.MaxValueLength.
	MaxBytes int
}

// Default limits, as the issue and Datasette's habits suggest.
const (
	DefaultTimeout = 5 * time.Second
	DefaultMaxRows = 1000
	// DefaultMaxBytes keeps a page's result (and a fan-out's, all tenants
	// together) to what a browser shows without trouble.
	DefaultMaxBytes = 16 << 20
)

// WithDefaults fills unset limits.
func (l Limits) WithDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultMaxRows
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// Conn is a connection the platform opened for the console.
type Conn interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	Close() error
}

// Column is a result column: its name and its declared type, or, for an
// expression, the storage class of its value in the first row.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Result is what a query returned.
type Result struct {
	Columns   []Column `json:"columns"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated"`
	// CutAtBytes says the rows were cut at Limits.MaxBytes, not MaxRows.
	CutAtBytes bool `json:"-"`
	// Changes is the rows a write changed (write mode only).
	Changes int64 `json:"changes,omitempty"`
	// Elapsed is the time from sending the SQL to the last row read.
	Elapsed time.Duration `json:"-"`
}

// Request is one run's SQL and its named parameters.
type Request struct {
	SQL    string
	Params map[string]string // by name, without the leading ':', '@' or '$'
}

// args binds the parameters the SQL names; missing ones are an error.
func (r Request) args() ([]any, error) {
	names := Params(r.SQL)
	args := make([]any, 0, len(names))
	var missing []string
	for _, n := range names {
		v, ok := r.Params[n]
		if !ok {
			missing = append(missing, ":"+n)
			continue
		}
		args = append(args, sql.Named(n, v))
	}
	if len(missing) > 0 {
		return nil, fleet.Errorf(fleet.EINVALID, "Give a value for %s.", strings.Join(missing, ", "))
	}
	return args, nil
}

// Check refuses a request that cannot run: no SQL, or a parameter
// without a value.
func (r Request) Check() error {
	if strings.TrimSpace(r.SQL) == "" {
		return fleet.Errorf(fleet.EINVALID, "Write some SQL to run.")
	}
	if len(r.SQL) > MaxSQL {
		return fleet.Errorf(fleet.EINVALID, "The SQL is %d bytes; the console takes up to %d.", len(r.SQL), MaxSQL)
	}
	_, err := r.args()
	return err
}

// MaxSQL bounds the SQL text the console accepts.
const MaxSQL = 100_000

// queryError is SQLite's own message about the SQL, shown to the user as
// it is (a fleet EINVALID error whose cause is the driver's), or what a
// guard of the console's connection (tenantdb.OpenConsoleFile) refused.
func queryError(err error, l Limits) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded), tenantdb.Interrupted(err):
		return fleet.Wrap(fleet.EINVALID, err, "The query ran past the %s time limit and was stopped.", l.Timeout)
	case errors.Is(err, context.Canceled):
		return err
	case tenantdb.NotAuthorized(err):
		return fleet.Wrap(fleet.EINVALID, err, "Not allowed in the console: a read-only run does SELECT, reads and the PRAGMAs that report; write mode (admins) also changes data and schema; no run changes a setting or attaches a file.")
	case tenantdb.TooBig(err):
		return fleet.Wrap(fleet.EINVALID, err, "A value would be longer than the console's %d MiB limit: select less (substr(), length()).", tenantdb.MaxValueLength>>20)
	case tenantdb.TooManyColumns(err):
		return fleet.Wrap(fleet.EINVALID, err, "The result would have more than the console's %d columns.", tenantdb.MaxResultColumns)
	}
	return fleet.Wrap(fleet.EINVALID, err, "%s", strings.TrimPrefix(err.Error(), "SQL logic error: "))
}

// Stream runs the request on c within l and hands each row to row (the
// row's slice is reused: copy what you keep). Several statements run in
// order; the last one's rows are the result. It stops after l.MaxRows rows
// (truncated) unless l.MaxRows < 0, and before the row that would take
// the rows past l.MaxBytes unless l.MaxBytes < 0.
func Stream(ctx context.Context, c Conn, req Request, l Limits, columns func([]Column) error, row func([]any) error) (truncated bool, err error) {
	cut, err := stream(ctx, c, req, l, columns, row)
	return cut != "", err
}

// Why a result stopped early.
const (
	cutRows  = "rows"
	cutBytes = "bytes"
)

func stream(ctx context.Context, c Conn, req Request, l Limits, columns func([]Column) error, row func([]any) error) (cut string, err error) {
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if err := req.Check(); err != nil {
		return "", err
	}
	args, err := req.args()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	rows, err := c.QueryContext(ctx, req.SQL, args...)
	if err != nil {
		return "", queryError(err, l)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return "", queryError(err, l)
	}
	cols := make([]Column, len(types))
	for i, t := range types {
		cols[i] = Column{Name: t.Name(), Type: strings.ToUpper(t.DatabaseTypeName())}
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n, size := 0, 0
	sentColumns := false
	for rows.Next() {
		if l.MaxRows >= 0 && n == l.MaxRows {
			cut = cutRows
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", queryError(err, l)
		}
		if l.MaxBytes >= 0 {
			if size += RowSize(vals); size > l.MaxBytes {
				cut = cutBytes
				break
			}
		}
		for i, v := range vals {
			vals[i] = normalize(v)
			if cols[i].Type == "" && vals[i] != nil {
				cols[i].Type = storageClass(vals[i])
			}
		}
		if !sentColumns {
			if err := columns(cols); err != nil {
				return "", err
			}
			sentColumns = true
		}
		if err := row(vals); err != nil {
			return "", err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return "", queryError(err, l)
	}
	if !sentColumns {
		if err := columns(cols); err != nil {
			return "", err
		}
	}
	return cut, nil
}

// Run runs the request on c within l and returns the result.
func Run(ctx context.Context, c Conn, req Request, l Limits) (*Result, error) {
	start := time.Now()
	res := &Result{Rows: [][]any{}}
	cut, err := stream(ctx, c, req, l, func(cols []Column) error {
		res.Columns = cols
		return nil
	}, func(r []any) error {
		res.Rows = append(res.Rows, append([]any(nil), r...))
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Truncated, res.CutAtBytes, res.Elapsed = cut != "", cut == cutBytes, time.Since(start)
	return res, nil
}

// RowSize is what a row's values take, roughly: text and blobs their
// length, anything else a word.
func RowSize(vals []any) int {
	n := 0
	for _, v := range vals {
		switch v := v.(type) {
		case string:
			n += len(v)
		case []byte:
			n += len(v)
		default:
			n += 8
		}
	}
	return n
}

// normalize turns driver values into what the console shows and exports:
// text as strings, blobs as []byte, times (from declared date columns) as
// RFC 3339 text.
func normalize(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// storageClass names a value's SQLite storage class.
func storageClass(v any) string {
	switch v.(type) {
	case int64:
		return "INTEGER"
	case float64:
		return "REAL"
	case string:
		return "TEXT"
	case []byte:
		return "BLOB"
	}
	return fmt.Sprintf("%T", v)
}

// ResultJSON is a one-tenant result as JSON clients (the page's, the
// API's, the CLI's) get it.
type ResultJSON struct {
	Columns     []string `json:"columns"`
	ColumnTypes []string `json:"column_types"`
	Rows        [][]any  `json:"rows"`
	Truncated   bool     `json:"truncated"`
	ElapsedMS   float64  `json:"elapsed_ms"`
	// Changes is the rows a write changed.
	Changes int64 `json:"changes,omitempty"`
}

// JSON is r's JSON answer.
func (r *Result) JSON() ResultJSON {
	out := ResultJSON{Columns: make([]string, len(r.Columns)), ColumnTypes: make([]string, len(r.Columns)), Rows: r.Rows,
		Truncated: r.Truncated, ElapsedMS: float64(r.Elapsed.Microseconds()) / 1000, Changes: r.Changes}
	for i, c := range r.Columns {
		out.Columns[i], out.ColumnTypes[i] = c.Name, c.Type
	}
	return out
}

// Result is the result a JSON answer describes, for a client to print as
// it prints one of its own.
func (r *ResultJSON) Result() *Result {
	cols := make([]Column, len(r.Columns))
	for i, n := range r.Columns {
		cols[i].Name = n
		if i < len(r.ColumnTypes) {
			cols[i].Type = r.ColumnTypes[i]
		}
	}
	return &Result{Columns: cols, Rows: r.Rows, Truncated: r.Truncated, Changes: r.Changes,
		Elapsed: time.Duration(r.ElapsedMS * float64(time.Millisecond))}
}

// SchemaJSON is a tenant's schema as JSON clients get it.
type SchemaJSON struct {
	Tenant string  `json:"tenant"`
	Tables []Table `json:"tables"`
}

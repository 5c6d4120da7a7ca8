package console

import (
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tenantry/tenantry/internal/fleet"
)

// Exporter writes a result as CSV or JSON while it streams: rows go out
// as they come, so a large result never sits in memory. It is the Sink of
// a fan-out too (rows get a leading tenant; failures and the tenants cut
// at the cap end the JSON). JSON is the CLI's shape:
// {"columns": [...], "rows": [[...]], "truncated": false}.
type Exporter struct {
	W      io.Writer
	Format string // "csv" or "json"
	// Start is called once, before the first byte (an HTTP handler sets
	// its headers there).
	Start func()
	// Truncated marks a result cut at the row cap.
	Truncated bool
	// Raw writes CSV cells as they are; otherwise text a spreadsheet
	// would take for a formula is neutralised (CSVCell).
	Raw bool

	started bool
	csv     *csv.Writer
	n       int
	rec     []string
	fails   []TenantError
	cut     []string
}

// Started reports whether anything was written.
func (x *Exporter) Started() bool { return x.started }

// Header writes the column names.
func (x *Exporter) Header(cols []Column) error {
	if x.Start != nil {
		x.Start()
	}
	x.started = true
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	if x.Format == "csv" {
		x.csv = csv.NewWriter(x.W)
		if !x.Raw {
			for i, n := range names {
				names[i] = CSVCell(n)
			}
		}
		return x.csv.Write(names)
	}
	b, _ := json.Marshal(names)
	_, err := fmt.Fprintf(x.W, `{"columns":%s,"rows":[`, b)
	return err
}

// Write writes one row.
func (x *Exporter) Write(vals []any) error {
	if x.Format == "csv" {
		x.rec = x.rec[:0]
		for _, v := range vals {
			cell := CSVValue(v)
			if _, text := v.(string); text && !x.Raw {
				cell = CSVCell(cell)
			}
			x.rec = append(x.rec, cell)
		}
		if err := x.csv.Write(x.rec); err != nil {
			return err
		}
	} else {
		b, err := json.Marshal(vals)
		if err != nil {
			return err
		}
		if x.n > 0 {
			b = append([]byte{','}, b...)
		}
		if _, err := x.W.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	x.n++
	if x.n%1000 == 0 {
		x.flush()
	}
	return nil
}

func (x *Exporter) flush() {
	if x.csv != nil {
		x.csv.Flush()
	}
	if f, ok := x.W.(interface{ Flush() }); ok {
		f.Flush()
	}
}

// Columns, Row, Fail, Truncated and Progress make it a fan-out's Sink.
func (x *Exporter) Columns(cols []Column) error { return x.Header(cols) }

func (x *Exporter) Row(tenant string, vals []any) error {
	return x.Write(append([]any{tenant}, vals...))
}

func (x *Exporter) Fail(e TenantError) error { x.fails = append(x.fails, e); return nil }

func (x *Exporter) TenantTruncated(tenant string) error { x.cut = append(x.cut, tenant); return nil }

func (x *Exporter) Progress(done, failed, total int) {}

// Failures returns the fan-out's failed tenants so far.
func (x *Exporter) Failures() []TenantError { return x.fails }

// Finish ends the output. For JSON the end says whether the result was
// cut (and by what error); CSV has no place for it.
func (x *Exporter) Finish(err error) error {
	if !x.started {
		return err
	}
	if x.Format == "csv" {
		x.csv.Flush()
		return x.csv.Error()
	}
	tail := map[string]any{"truncated": x.Truncated || len(x.cut) > 0}
	if err != nil {
		tail["truncated"], tail["error"] = true, fleet.ErrorMessage(err)
	}
	if x.fails != nil {
		tail["errors"] = x.fails
	}
	if x.cut != nil {
		tail["truncated_tenants"] = x.cut
	}
	b, _ := json.Marshal(tail)
	_, werr := fmt.Fprintf(x.W, "],%s\n", b[1:])
	x.flush()
	return werr
}

// CSVValue is a value as a CSV field: NULL is empty, a blob SQLite's hex
// literal.
func CSVValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []byte:
		return BlobText(v, -1)
	case string:
		return v
	}
	return fmt.Sprint(v)
}

// CSVCell neutralises a text cell that a spreadsheet would run as a
// formula, the OWASP way (CSV injection): a cell starting with =, +, -,
// @, a tab or a carriage return gets a leading single quote, which
// spreadsheets show as text and do not evaluate. A plain number ("-12.5",
// "+3", "1e6") is left alone: it cannot be a formula, and a spreadsheet
// should still add it up. Fields holding commas, quotes or line breaks are
// quoted, embedded quotes doubled, by encoding/csv.
func CSVCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if plainNumber(s) {
			return s
		}
		return "'" + s
	}
	return s
}

// plainNumber reports whether s is a decimal number and nothing else
// (ParseFloat alone would take "Inf" and hex too).
func plainNumber(s string) bool {
	if strings.Trim(s, "0123456789+-.eE") != "" {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// BlobText shows a blob as SQLite's hex literal, cut after max bytes
// (max < 0: whole).
func BlobText(b []byte, max int) string {
	if max >= 0 && len(b) > max {
		return fmt.Sprintf("x'%s…' (%d bytes)", hex.EncodeToString(b[:max]), len(b))
	}
	return "x'" + hex.EncodeToString(b) + "'"
}

package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
)

// The SQL console over the API: one tenant (read-only, or a write with an
// admin token), or a read-only fan-out over many, answered as one JSON
// document or streamed as NDJSON. The console service applies its limits,
// its read-only connections and its per-actor gates (429 past them), and
// records every run in the token's query history.

func (s *Server) queryRoutes(g *echo.Group) {
	g.POST("/query", s.handleQuery)
}

// MIMENDJSON is the streamed answer of a fan-out: one JSON object a line.
const MIMENDJSON = "application/x-ndjson"

// Query is the body of POST /query: Tenant, or Tenants for a fan-out.
type Query struct {
	Tenant  string            `json:"tenant,omitempty"`
	Tenants *TenantScope      `json:"tenants,omitempty"`
	SQL     string            `json:"sql"`
	Params  map[string]string `json:"params,omitempty"`
	Write   bool              `json:"write,omitempty"`
}

// TenantScope chooses a fan-out's tenants: all ready ones, those whose
// names match a glob, or a list.
type TenantScope struct {
	All     bool     `json:"all,omitempty"`
	Pattern string   `json:"pattern,omitempty"`
	List    []string `json:"list,omitempty"`
}

// QueryResult is one tenant's result: the console's own JSON answer (the
// page's for Accept: application/json too), so a client prints it as it
// prints a local one.
type QueryResult = console.ResultJSON

// FanOutResult is a fan-out answered at once: the merged rows (a leading
// tenant column) within the console's row and byte limits, and the
// tenants that failed or had more rows than the cap.
type FanOutResult struct {
	Columns          []string              `json:"columns"`
	ColumnTypes      []string              `json:"column_types"`
	Rows             [][]any               `json:"rows"`
	Truncated        bool                  `json:"truncated"`
	Tenants          int                   `json:"tenants"`
	Failed           int                   `json:"failed"`
	Errors           []console.TenantError `json:"errors"`
	TruncatedTenants []string              `json:"truncated_tenants"`
}

// The lines of a streamed fan-out, in order: ColumnsLine once, then a
// RowLine per row and an ErrorLine per failed tenant in tenant order,
// then DoneLine.
type (
	ColumnsLine struct {
		Columns     []string `json:"columns"`
		ColumnTypes []string `json:"column_types"`
	}
	RowLine struct {
		Tenant string `json:"tenant"`
		Row    []any  `json:"row"`
	}
	ErrorLine struct {
		Tenant string `json:"tenant"`
		Error  string `json:"error"`
	}
	// DoneLine ends the stream; Error says the fan-out stopped early
	// (the client went away, the server shut down).
	DoneLine struct {
		Done      bool     `json:"done"`
		Tenants   int      `json:"tenants"`
		Failed    int      `json:"failed"`
		Truncated []string `json:"truncated"`
		Error     string   `json:"error,omitempty"`
	}
)

// scope checks the body's choice of tenants: one tenant, or a fan-out
// scope.
func (q Query) scope() (fleet.Scope, bool, error) {
	bad := func(format string, args ...any) error {
		return unprocessable{fleet.Errorf(fleet.EINVALID, format, args...)}
	}
	switch {
	case q.Tenant != "" && q.Tenants != nil:
		return fleet.Scope{}, false, bad("Give \"tenant\" or \"tenants\", not both.")
	case q.Tenant != "":
		if err := fleet.ValidateName(q.Tenant); err != nil {
			return fleet.Scope{}, false, unprocessable{err}
		}
		return fleet.Scope{}, false, nil
	case q.Tenants == nil:
		return fleet.Scope{}, false, bad("Say where to run the query: \"tenant\": NAME, or \"tenants\": {\"all\": true}, {\"pattern\": GLOB} or {\"list\": [NAMES]}.")
	}
	t := q.Tenants
	n := 0
	for _, set := range []bool{t.All, t.Pattern != "", t.List != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fleet.Scope{}, false, bad("\"tenants\" takes one of \"all\": true, \"pattern\" or \"list\".")
	}
	if t.List != nil {
		if len(t.List) == 0 {
			return fleet.Scope{}, false, bad("\"tenants\".\"list\" is empty: name at least one tenant.")
		}
		for _, name := range t.List {
			if err := fleet.ValidateName(name); err != nil {
				return fleet.Scope{}, false, unprocessable{err}
			}
		}
	}
	if q.Write {
		return fleet.Scope{}, false, bad("A write runs on one tenant only: a query over many tenants is read-only.")
	}
	return fleet.Scope{Pattern: t.Pattern, List: strings.Join(t.List, ",")}, true, nil
}

func (s *Server) handleQuery(c echo.Context) error {
	var q Query
	if err := bind(c, &q); err != nil {
		return err
	}
	if q.Write && !tokenFrom(c).IsAdmin() {
		return fleet.Errorf(fleet.EFORBIDDEN, "Token %q is a viewer's: a write needs an admin token; viewers run read-only queries.", tokenFrom(c).Name)
	}
	sc, fanOut, err := q.scope()
	if err != nil {
		return err
	}
	req := console.Request{SQL: q.SQL, Params: q.Params}
	if err := req.Check(); err != nil {
		return unprocessable{err}
	}
	if fanOut {
		if strings.Contains(c.Request().Header.Get(echo.HeaderAccept), MIMENDJSON) {
			return s.streamFanOut(c, sc, req)
		}
		return s.collectFanOut(c, sc, req)
	}
	res, err := s.Console.Query(c.Request().Context(), actor(c), q.Tenant, req, q.Write)
	if err != nil {
		return queryError(err)
	}
	out := res.JSON()
	if out.Rows == nil {
		out.Rows = [][]any{}
	}
	return c.JSON(http.StatusOK, out)
}

// queryError makes the console's refusal of the SQL itself (a syntax
// error, a write on a read-only run, the time limit) a 422: the body was
// understood and cannot be run.
func queryError(err error) error {
	if fleet.ErrorCode(err) == fleet.EINVALID {
		if _, busy := console.AsBusy(err); !busy {
			return unprocessable{err}
		}
	}
	return err
}

func columnsOf(cols []console.Column) (names, types []string) {
	names, types = make([]string, len(cols)), make([]string, len(cols))
	for i, col := range cols {
		names[i], types[i] = col.Name, col.Type
	}
	return names, types
}

// collectFanOut answers a fan-out at once, within the console's limits
// for one result: past its row cap or byte cap the rest is left out and
// the answer says truncated.
func (s *Server) collectFanOut(c echo.Context, sc fleet.Scope, req console.Request) error {
	l := s.Console.CurrentLimits()
	sink := &boundedSink{maxRows: l.MaxRows, maxBytes: l.MaxBytes,
		out: FanOutResult{Rows: [][]any{}, Errors: []console.TenantError{}, TruncatedTenants: []string{}}}
	failed, err := s.Console.FanOut(c.Request().Context(), actor(c), sc, req, sink)
	if err != nil {
		return queryError(err)
	}
	sink.out.Failed = failed
	sink.out.Truncated = sink.out.Truncated || len(sink.out.TruncatedTenants) > 0
	return c.JSON(http.StatusOK, sink.out)
}

// boundedSink keeps a fan-out's rows up to the limits of one result.
type boundedSink struct {
	maxRows, maxBytes, bytes int
	out                      FanOutResult
}

func (b *boundedSink) Columns(cols []console.Column) error {
	b.out.Columns, b.out.ColumnTypes = columnsOf(cols)
	return nil
}

func (b *boundedSink) Row(tenant string, vals []any) error {
	if len(b.out.Rows) >= b.maxRows {
		b.out.Truncated = true
		return nil
	}
	if b.maxBytes > 0 {
		if b.bytes += len(tenant) + console.RowSize(vals); b.bytes > b.maxBytes {
			b.out.Truncated, b.maxRows = true, len(b.out.Rows) // nothing more fits
			return nil
		}
	}
	b.out.Rows = append(b.out.Rows, append([]any{tenant}, vals...))
	return nil
}

func (b *boundedSink) Fail(e console.TenantError) error {
	b.out.Errors = append(b.out.Errors, e)
	return nil
}

func (b *boundedSink) TenantTruncated(tenant string) error {
	b.out.TruncatedTenants = append(b.out.TruncatedTenants, tenant)
	return nil
}

func (b *boundedSink) Progress(done, failed, total int) { b.out.Tenants = total }

// streamFanOut streams a fan-out as NDJSON, each tenant's lines flushed
// as its turn comes, so memory holds the console's window of tenants
// and not the result. Until the first line an error is a problem
// document; after it, the last line says why the stream stopped.
func (s *Server) streamFanOut(c echo.Context, sc fleet.Scope, req console.Request) error {
	w := &ndjsonSink{c: c}
	failed, err := s.Console.FanOut(c.Request().Context(), actor(c), sc, req, w)
	if !w.started {
		if err != nil {
			return queryError(err)
		}
		return w.start()
	}
	if w.err != nil {
		return nil // the client went away: nobody to tell
	}
	done := DoneLine{Done: true, Tenants: w.total, Failed: failed, Truncated: w.cut}
	if done.Truncated == nil {
		done.Truncated = []string{}
	}
	if err != nil {
		done.Error = fleet.ErrorMessage(err)
		s.logger(c).Warn("query stream stopped", "err", err)
	}
	_ = w.line(done)
	w.flush()
	return nil
}

// ndjsonSink writes a fan-out's lines as they come.
type ndjsonSink struct {
	c       echo.Context
	started bool
	total   int
	cut     []string
	err     error // writing failed: the client is gone
}

func (w *ndjsonSink) start() error {
	w.started = true
	res := w.c.Response()
	res.Header().Set(echo.HeaderContentType, MIMENDJSON)
	res.Header().Set("X-Content-Type-Options", "nosniff")
	res.WriteHeader(http.StatusOK)
	return nil
}

func (w *ndjsonSink) line(v any) error {
	if !w.started {
		_ = w.start()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := w.c.Response().Write(append(b, '\n')); err != nil {
		w.err = err
		return err
	}
	return nil
}

// flush sends the lines written so far. A tenant's rows arrive together,
// so the stream is flushed once a tenant is done rather than every line.
func (w *ndjsonSink) flush() {
	if w.started && w.err == nil {
		w.c.Response().Flush()
	}
}

func (w *ndjsonSink) Columns(cols []console.Column) error {
	names, types := columnsOf(cols)
	err := w.line(ColumnsLine{Columns: names, ColumnTypes: types})
	w.flush()
	return err
}

func (w *ndjsonSink) Row(tenant string, vals []any) error {
	return w.line(RowLine{Tenant: tenant, Row: vals})
}

func (w *ndjsonSink) Fail(e console.TenantError) error {
	return w.line(ErrorLine(e))
}

func (w *ndjsonSink) TenantTruncated(tenant string) error {
	w.cut = append(w.cut, tenant)
	return nil
}

func (w *ndjsonSink) Progress(done, failed, total int) {
	w.total = total
	w.flush()
}

package tenantdb

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Result is the whole answer of one statement, read at once.
type Result struct {
	Columns []string
	Rows    [][]any // int64, float64, string, []byte or nil
	next    int
}

// QueryOnce runs one read statement on a remote database in a single
// HTTP request: the statement and the closing of its stream in one Hrana
// pipeline. The libsql client spends a second request closing each stream
// and parses every statement on the client first; a collection over
// thousands of databases pays for both. Args are int64, float64, string,
// []byte or nil. The statement must be one statement. Errors are
// classified (see Classify); a refusal of the request is a *StatusError
// in the chain.
func (r Remote) QueryOnce(ctx context.Context, query string, args ...any) (*Result, error) {
	res, err := r.queryOnce(ctx, query, args...)
	return res, Classify(err)
}

// StatusError is a database server's refusal of a whole request: its
// HTTP status and what it said. Its text is libsql-client-go's.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("error code %d: %s", e.Status, e.Message) }

// hranaError is a statement's failure as sqld reports it: SQLite's
// message and, by name, its primary result code ("SQLITE_BUSY").
type hranaError struct{ code, msg string }

func (e *hranaError) Error() string { return e.msg }

func (r Remote) queryOnce(ctx context.Context, query string, args ...any) (*Result, error) {
	tuneHTTP()
	u, err := r.pipelineURL()
	if err != nil {
		return nil, err
	}
	hargs := make([]hranaValue, len(args))
	for i, a := range args {
		if hargs[i], err = toHrana(a); err != nil {
			return nil, err
		}
	}
	body, err := json.Marshal(pipelineRequest{Requests: []streamRequest{
		{Type: "execute", Stmt: &hranaStmt{SQL: query, Args: hargs, WantRows: true}},
		{Type: "close"},
	}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.Namespace != "" {
		req.Header.Set(NamespaceHeader, NamespaceValue(r.Namespace))
	}
	if r.Proxy != "" {
		req.Host = u.Host // sent to the proxy, addressed to the database's host
		p, err := url.Parse(r.Proxy)
		if err != nil {
			return nil, err
		}
		req.URL.Host = p.Host
		if p.Scheme != "" {
			req.URL.Scheme = p.Scheme
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("failed to execute SQL: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return nil, fmt.Errorf("failed to execute SQL: %w", &StatusError{Status: resp.StatusCode, Message: msg})
	}
	var pr pipelineResponse
	if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil {
		return nil, fmt.Errorf("failed to execute SQL: the answer is not Hrana: %w", err)
	}
	if len(pr.Results) == 0 {
		return nil, errors.New("failed to execute SQL: empty answer")
	}
	res := pr.Results[0]
	if res.Type == "error" || res.Error != nil {
		e := &hranaError{msg: "unknown error"}
		if res.Error != nil {
			e.code, e.msg = res.Error.Code, res.Error.Message
		}
		return nil, e
	}
	if res.Response == nil || res.Response.Result == nil {
		return nil, errors.New("failed to execute SQL: no result")
	}
	out := &Result{Rows: make([][]any, len(res.Response.Result.Rows))}
	for _, c := range res.Response.Result.Cols {
		out.Columns = append(out.Columns, c.Name)
	}
	for i, row := range res.Response.Result.Rows {
		vals := make([]any, len(row))
		for j, v := range row {
			if vals[j], err = v.value(); err != nil {
				return nil, err
			}
		}
		out.Rows[i] = vals
	}
	return out, nil
}

func (r Remote) pipelineURL() (*url.URL, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	switch u.Scheme {
	case "libsql", "https":
		u.Scheme = "https"
	case "http":
	default:
		return nil, fmt.Errorf("database URL %s: want http(s) or libsql", Redact(r.URL))
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/v2/pipeline"
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

type pipelineRequest struct {
	Baton    *string         `json:"baton"`
	Requests []streamRequest `json:"requests"`
}

type streamRequest struct {
	Type string     `json:"type"`
	Stmt *hranaStmt `json:"stmt,omitempty"`
}

type hranaStmt struct {
	SQL      string       `json:"sql"`
	Args     []hranaValue `json:"args"`
	WantRows bool         `json:"want_rows"`
}

type hranaValue struct {
	Type   string `json:"type"`
	Value  any    `json:"value,omitempty"`
	Base64 string `json:"base64,omitempty"`
}

type pipelineResponse struct {
	Results []struct {
		Type     string `json:"type"`
		Response *struct {
			Type   string `json:"type"`
			Result *struct {
				Cols []struct {
					Name string `json:"name"`
				} `json:"cols"`
				Rows [][]hranaValue `json:"rows"`
			} `json:"result"`
		} `json:"response"`
		Error *struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		} `json:"error"`
	} `json:"results"`
}

func toHrana(a any) (hranaValue, error) {
	switch v := a.(type) {
	case nil:
		return hranaValue{Type: "null"}, nil
	case int64:
		return hranaValue{Type: "integer", Value: strconv.FormatInt(v, 10)}, nil
	case int:
		return hranaValue{Type: "integer", Value: strconv.Itoa(v)}, nil
	case float64:
		return hranaValue{Type: "float", Value: v}, nil
	case string:
		return hranaValue{Type: "text", Value: v}, nil
	case []byte:
		return hranaValue{Type: "blob", Base64: base64.StdEncoding.EncodeToString(v)}, nil
	}
	return hranaValue{}, fmt.Errorf("unsupported argument type %T", a)
}

func (v hranaValue) value() (any, error) {
	switch v.Type {
	case "null":
		return nil, nil
	case "integer":
		s, _ := v.Value.(string)
		return strconv.ParseInt(s, 10, 64)
	case "float":
		f, ok := v.Value.(float64)
		if !ok {
			return nil, fmt.Errorf("bad float value %v", v.Value)
		}
		return f, nil
	case "text":
		s, _ := v.Value.(string)
		return s, nil
	case "blob":
		return base64.StdEncoding.DecodeString(v.Base64)
	}
	return nil, fmt.Errorf("unknown value type %q", v.Type)
}

// Next moves to the next row, as *sql.Rows does.
func (r *Result) Next() bool {
	if r.next >= len(r.Rows) {
		return false
	}
	r.next++
	return true
}

// Scan copies the current row into *string, *sql.NullString, *int64 and
// *float64 destinations, converting as database/sql would.
func (r *Result) Scan(dest ...any) error {
	if r.next == 0 || r.next > len(r.Rows) {
		return errors.New("scan without a row")
	}
	row := r.Rows[r.next-1]
	if len(dest) != len(row) {
		return fmt.Errorf("scan: %d destinations for %d columns", len(dest), len(row))
	}
	for i, d := range dest {
		if err := assign(d, row[i]); err != nil {
			return fmt.Errorf("scan column %d: %w", i, err)
		}
	}
	return nil
}

// Err is always nil: the rows arrived whole.
func (r *Result) Err() error { return nil }

// Close does nothing: the stream was closed with the statement.
func (r *Result) Close() error { return nil }

package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
)

// Query runs a query on one tenant (q.Tenant). Numbers keep their
// digits (json.Number), so an integer past 2^53 prints as it is stored.
func (c *Client) Query(ctx context.Context, q api.Query) (*api.QueryResult, error) {
	res, err := c.post(ctx, "/query", q)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var out api.QueryResult
	if err := decodeNumbers(res.Body, &out); err != nil {
		return nil, fmt.Errorf("POST /query: the console's answer is not the JSON expected: %w", err)
	}
	return &out, nil
}

// FanOut runs a read-only query over many tenants (q.Tenants), streamed
// as NDJSON, and hands each line to sink as it comes, as the console
// service hands its results to a local sink: Columns once, then rows and
// failures in tenant order, then the tenants cut at the row cap and one
// Progress. A stream that stops early is an error.
func (c *Client) FanOut(ctx context.Context, q api.Query, sink console.Sink) (failed int, err error) {
	res, err := c.post(ctx, "/query", q, "Accept", api.MIMENDJSON)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20) // a row may hold values up to the console's value limit
	for sc.Scan() {
		var l struct {
			Columns     []string `json:"columns"`
			ColumnTypes []string `json:"column_types"`
			Tenant      string   `json:"tenant"`
			Row         []any    `json:"row"`
			Error       string   `json:"error"`
			Done        bool     `json:"done"`
			Tenants     int      `json:"tenants"`
			Failed      int      `json:"failed"`
			Truncated   []string `json:"truncated"`
		}
		if err := decodeNumbers(bytes.NewReader(sc.Bytes()), &l); err != nil {
			return failed, fmt.Errorf("POST /query: a line of the stream is not JSON: %w", err)
		}
		switch {
		case l.Done:
			for _, t := range l.Truncated {
				if err := sink.TenantTruncated(t); err != nil {
					return l.Failed, err
				}
			}
			sink.Progress(l.Tenants, l.Failed, l.Tenants)
			if l.Error != "" {
				return l.Failed, fleet.Errorf(fleet.EUNAVAILABLE, "The query stopped on the console: %s", l.Error)
			}
			return l.Failed, nil
		case l.Columns != nil:
			cols := make([]console.Column, len(l.Columns))
			for i, n := range l.Columns {
				cols[i].Name = n
				if i < len(l.ColumnTypes) {
					cols[i].Type = l.ColumnTypes[i]
				}
			}
			err = sink.Columns(cols)
		case l.Row != nil:
			err = sink.Row(l.Tenant, l.Row)
		case l.Error != "":
			failed++
			err = sink.Fail(console.TenantError{Tenant: l.Tenant, Error: l.Error})
		}
		if err != nil {
			return failed, err
		}
	}
	if err := sc.Err(); err != nil {
		return failed, fleet.Errorf(fleet.EUNAVAILABLE, "The query's stream from the console broke off: %v", err)
	}
	return failed, fleet.Errorf(fleet.EUNAVAILABLE, "The query's stream from the console ended before its last line.")
}

// post sends a JSON body and returns the response to read.
func (c *Client) post(ctx context.Context, path string, in any, header ...string) (*http.Response, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	return c.Stream(ctx, http.MethodPost, path, bytes.NewReader(b), append(header, "Content-Type", "application/json")...)
}

func decodeNumbers(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return dec.Decode(v)
}

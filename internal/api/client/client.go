// Package client is a Go client of Tenantry's JSON API: the CLI's remote
// mode (--server) and the tests use it. Problem answers become
// *fleet.Error values carrying the problem's code and detail, so that a
// command fails remotely with the message, and exit status, it would have
// locally.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/fleet"
)

// Client calls one console's API with one token.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New returns a client of the console at server (its root URL). hc nil is
// a client that follows no redirects: a redirect to another host must not
// carry the token along, and the API never redirects.
func New(server, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q is not an http(s) URL", server)
	}
	if hc == nil {
		hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Client{base: u, token: token, http: hc}, nil
}

// Problem is a problem document the API answered with.
type Problem struct {
	api.Problem
}

// Error wraps a problem as a fleet error, so callers switch on its code.
func (p *Problem) Error() string { return p.Detail }

// Unwrap gives the fleet error with the problem's code.
func (p *Problem) Unwrap() error {
	code := p.Code
	switch code {
	case "rate_limited", "busy":
		code = fleet.EUNAVAILABLE
	case "":
		code = fleet.EINTERNAL
	}
	return &fleet.Error{Code: code, Message: p.Detail}
}

// Do sends a request with a JSON body (in, nil for none) to path (under
// the API prefix, with its query) and decodes a JSON answer into out (nil
// to discard it). It returns the response (body consumed) for its status
// and headers.
func (c *Client) Do(ctx context.Context, method, path string, in, out any, header ...string) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
		header = append(header, "Content-Type", "application/json")
	}
	res, err := c.Stream(ctx, method, path, body, header...)
	if err != nil {
		return res, err
	}
	defer res.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return res, nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return res, fmt.Errorf("%s %s: the console's answer is not the JSON expected: %w", method, path, err)
	}
	return res, nil
}

// Stream sends a request with a raw body and returns the response for the
// caller to read and close (a file, NDJSON). An error answer is returned
// as an error, its body read and closed.
func (c *Client) Stream(ctx context.Context, method, path string, body io.Reader, header ...string) (*http.Response, error) {
	return c.stream(ctx, method, path, body, -1, header...)
}

// stream is Stream with the body's size (-1: unknown, or known from a
// bytes or strings reader), which a streamed upload sends as its
// Content-Length so that the server can refuse one too large up front.
func (c *Client) stream(ctx context.Context, method, path string, body io.Reader, size int64, header ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+api.Prefix+path, body)
	if err != nil {
		return nil, err
	}
	if size >= 0 && body != nil {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fleet.Errorf(fleet.EUNAVAILABLE, "Cannot reach the console at %s: %v", c.base.Redacted(), err)
	}
	if res.StatusCode < 400 {
		if res.StatusCode >= 300 {
			res.Body.Close()
			return nil, fleet.Errorf(fleet.EUNAVAILABLE, "The console at %s redirected to %q: point --server at the console itself.", c.base.Redacted(), res.Header.Get("Location"))
		}
		return res, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	var p Problem
	if json.Unmarshal(b, &p.Problem) != nil || p.Detail == "" {
		return nil, fleet.Errorf(fleet.EUNAVAILABLE, "The console at %s answered %s%s: is --server a Tenantry console?", c.base.Redacted(), res.Status, snippet(b))
	}
	return nil, &p
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if s == "" {
		return ""
	}
	return " (" + fleet.Truncate(s, 80) + ")"
}

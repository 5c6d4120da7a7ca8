package turso

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// apiError is an answer of the Turso API that refused a request: its
// status and its {"error": "...", "code": "..."} body.
type apiError struct {
	Status  int
	Message string // scrubbed of credentials, shortened
	Code    string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// call is one API request: a method, a path below
// /v1/organizations/{org}, a query and a JSON body.
type call struct {
	method string
	path   string
	query  url.Values
	body   any
	// what names the operation in messages: "create database \"x\"".
	what string
}

// api sends c to the Turso API, retrying transient failures (see
// retrying), and decodes a successful JSON answer into out.
//
// ambiguous reports that an attempt failed in a way that may have left
// its work done (a 5xx or a broken connection): a create retried after
// one may find its own database "already exists".
func (p *Platform) api(ctx context.Context, c call, out any) (ambiguous bool, err error) {
	var body []byte
	if c.body != nil {
		if body, err = json.Marshal(c.body); err != nil {
			return false, err
		}
	}
	u := p.base + c.path
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	newReq := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, c.method, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		// The API token goes in a header only: never in a URL, so never
		// in a log line or an error message that quotes one.
		req.Header.Set("Authorization", "Bearer "+p.o.Token)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "tenantry")
		if c.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, nil
	}
	resp, ambiguous, err := p.retrying(ctx, p.apiClient, c.what, newReq)
	if err != nil {
		return ambiguous, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return true, fleet.Errorf(fleet.EUNAVAILABLE, "Turso broke off its answer to %s: %v.", c.what, err)
	}
	if resp.StatusCode >= 300 {
		return ambiguous, p.apiErr(resp.StatusCode, b)
	}
	if out == nil {
		return ambiguous, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return ambiguous, fleet.Errorf(fleet.EUNAVAILABLE, "Turso answered %s with something other than the JSON expected (%s): is the API URL right?", c.what, fleet.Truncate(strings.ToValidUTF8(string(b), "?"), 80))
	}
	return ambiguous, nil
}

// apiErr reads an error body; what is not JSON is quoted as text.
func (p *Platform) apiErr(status int, b []byte) *apiError {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Code    any    `json:"code"`
	}
	msg := ""
	if json.Unmarshal(b, &e) == nil {
		msg = cmpOr(e.Error, e.Message)
	}
	if msg == "" {
		msg = strings.TrimSpace(string(b))
	}
	if msg == "" {
		msg = strings.ToLower(http.StatusText(status))
	}
	code := ""
	if e.Code != nil {
		code = fmt.Sprint(e.Code)
	}
	return &apiError{Status: status, Message: p.scrub(msg), Code: code}
}

// scrub shortens a message that will be shown or logged and removes the
// API token from it, should a server ever echo it.
func (p *Platform) scrub(s string) string {
	if p.o.Token != "" {
		s = strings.ReplaceAll(s, p.o.Token, "[redacted]")
	}
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "?")), " ")
	return fleet.Truncate(s, 300)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// retrying sends the request newReq makes until it gets an answer that is
// not transient, at most MaxAttempts times. Transient are 429, 5xx and
// failures to connect or read: it waits with exponential backoff and
// full jitter between attempts, or as long as a Retry-After asks (up to
// MaxRetryAfter; a longer wait is given up on). The caller closes the
// answer's body; it has a status below 500 and not 429.
func (p *Platform) retrying(ctx context.Context, client *http.Client, what string, newReq func(context.Context) (*http.Request, error)) (*http.Response, bool, error) {
	ambiguous := false
	last := ""
	for attempt := 1; ; attempt++ {
		req, err := newReq(ctx)
		if err != nil {
			return nil, ambiguous, err
		}
		resp, err := client.Do(req)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ambiguous, fmt.Errorf("turso: %s: %w", what, ctx.Err())
			}
			// The request may have reached Turso before the connection
			// broke.
			ambiguous = true
			last = "cannot reach Turso: " + p.scrub(netError(err))
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			// A 429 did nothing; a 5xx may have done the work.
			ambiguous = ambiguous || resp.StatusCode >= 500
			last = p.apiErr(resp.StatusCode, b).Error()
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				if ra > p.o.MaxRetryAfter {
					return nil, ambiguous, fleet.Errorf(fleet.EUNAVAILABLE,
						"Turso is busy (%s) and asks to wait %s before trying to %s again; try again later.", last, ra.Round(time.Second), what)
				}
				wait = ra
			}
		default:
			return resp, ambiguous, nil
		}
		if attempt >= p.o.MaxAttempts {
			return nil, ambiguous, fleet.Errorf(fleet.EUNAVAILABLE,
				"Turso did not %s: %d attempts failed, the last with %s. Try again later.", what, attempt, last)
		}
		if wait == 0 {
			wait = backoff(p.o.RetryBase, p.o.RetryMax, attempt)
		}
		if err := p.o.Sleep(ctx, wait); err != nil {
			return nil, ambiguous, fmt.Errorf("turso: %s: %w", what, err)
		}
	}
}

// netError is a transport error without the request it failed: the
// message of *url.Error repeats the method and URL.
func netError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// backoff is the wait before attempt+1: a uniformly random duration up to
// base·2^(attempt-1), capped at most ("full jitter"), so that clients that
// failed together do not retry together.
func backoff(base, most time.Duration, attempt int) time.Duration {
	ceil := base
	for i := 1; i < attempt && ceil < most; i++ {
		ceil *= 2
	}
	ceil = min(ceil, most)
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil) + 1
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(n, 0)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refused turns an API refusal into the fleet error a person reads: what
// Turso said, that it was Turso that said it, and what to do. name is the
// tenant the call was about ("" if none); other errors pass through.
func (p *Platform) refused(err error, name, what string) error {
	var e *apiError
	if !errors.As(err, &e) {
		return err
	}
	// Matched without the name, which could spell any of the phrases.
	msg := strings.ToLower(e.Message)
	if name != "" {
		msg = strings.ReplaceAll(msg, name, "<name>")
	}
	switch {
	case strings.Contains(msg, "already exists"):
		return fleet.Errorf(fleet.ECONFLICT, "Tenant %q already exists on Turso.", name)
	case strings.Contains(msg, "delete-protected") || strings.Contains(msg, "delete protection"):
		return fleet.Errorf(fleet.EFORBIDDEN,
			"Turso refused to delete %q: the database is delete-protected. Turn delete protection off first (turso db config delete-protection disable %s, or PATCH its configuration with \"delete_protection\": false), then delete it again.", name, name)
	case strings.Contains(msg, "organization not found"):
		return fleet.Errorf(fleet.EUNAVAILABLE, "Turso does not know the organization %q (%s): check the Turso organization setting.", p.o.Org, e)
	case strings.Contains(msg, "group not found"):
		return fleet.Errorf(fleet.EUNAVAILABLE, "Turso has no group %q in organization %q (%s): check the Turso group setting.", p.o.Group, p.o.Org, e)
	case e.Status == http.StatusNotFound && name != "":
		return fleet.Errorf(fleet.ENOTFOUND, "Tenant %q not found on Turso.", name)
	case e.Status == http.StatusUnauthorized:
		// Not EUNAUTHORIZED: that is the console's own login.
		return fleet.Errorf(fleet.EUNAVAILABLE, "Turso refused Tenantry's API token (%s): check the Turso API token setting; it may have expired or been revoked.", e)
	case e.Status == http.StatusPaymentRequired:
		return fleet.Errorf(fleet.EFORBIDDEN, "Turso refused to %s: the organization's plan does not allow it (%s).", what, e)
	case e.Status == http.StatusForbidden:
		return fleet.Errorf(fleet.EFORBIDDEN, "Turso refused to %s (%s).", what, e)
	case e.Status == http.StatusNotFound:
		return fleet.Errorf(fleet.ENOTFOUND, "Turso could not %s: not found (%s).", what, e)
	default:
		return fleet.Errorf(fleet.EINVALID, "Turso refused to %s (%s).", what, e)
	}
}

// Package apitest checks API calls against the API's OpenAPI document, so
// that the document and the code cannot drift: every test that talks to
// the API through Transport validates each request and response it makes.
package apitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/tenantry/tenantry/internal/api"
)

var (
	once    sync.Once
	router  routers.Router
	loadErr error
)

// Router loads and validates the document once.
func Router() (routers.Router, error) {
	once.Do(func() {
		l := openapi3.NewLoader()
		doc, err := l.LoadFromData(api.Document)
		if err != nil {
			loadErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			loadErr = err
			return
		}
		router, loadErr = legacy.NewRouter(doc)
	})
	return router, loadErr
}

// Transport wraps base (http.DefaultTransport if nil) so that every call
// under /api/v1 is checked against the document: the response always
// (its status must be documented for the operation and its JSON body
// must match the schema), the request when the server accepted it (a 2xx:
// tests send bad requests on purpose, and those must be refused, not
// documented). A mismatch fails t.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	r, err := Router()
	if err != nil {
		t.Fatalf("the OpenAPI document does not load: %v", err)
	}
	return &transport{t: t, base: base, router: r}
}

type transport struct {
	t      testing.TB
	base   http.RoundTripper
	router routers.Router
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(req.URL.Path, api.Prefix) {
		return tr.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	res, err := tr.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))

	check := req.Clone(context.Background())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := tr.router.FindRoute(check)
	if err != nil {
		if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed {
			return res, nil // an unknown route, refused
		}
		tr.t.Errorf("API %s %s is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		return res, nil
	}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if res.StatusCode/100 == 2 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			tr.t.Errorf("API %s %s: the request the server accepted does not match the document: %v", req.Method, req.URL.Path, err)
		}
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true}
	ct := res.Header.Get("Content-Type")
	if !strings.Contains(ct, "json") || strings.Contains(ct, "ndjson") {
		opts.ExcludeResponseBody = true // files and streams: the status and type are checked
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(resBody)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		tr.t.Errorf("API %s %s answered %d, which does not match the document: %v\nbody: %.500s", req.Method, req.URL.Path, res.StatusCode, err, resBody)
	}
	return res, nil
}

package main

import (
	"net/http"

	"github.com/tenantry/tenantry/internal/api/client"
)

// remote returns the API client when the command is to drive a console
// through its API (--server / TENANTRY_SERVER), nil when it runs here.
func (e *env) remote() (*client.Client, error) {
	if e.cfg.Server == "" {
		return nil, nil
	}
	return client.New(e.cfg.Server, e.cfg.Token, remoteHTTP)
}

// remoteHTTP is the HTTP client of remote mode; tests set one that checks
// every call against the API's document. nil: the default (no redirects).
var remoteHTTP = (*http.Client)(nil)

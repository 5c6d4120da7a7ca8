package tenantdb

import (
	"database/sql"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tursodatabase/libsql-client-go/libsql"
)

// Remote says how to reach a database over Hrana (HTTP).
type Remote struct {
	URL       string // http(s):// or libsql://, without credentials or query
	Namespace string // a sqld namespace, sent as x-namespace-bin; "" for none
	Token     string // a JWT; "" for none
	// Proxy, when set, receives the requests while the Host header stays
	// the URL's: a test's data plane standing in for a cloud host.
	Proxy string
}

// OpenRemote returns a *sql.DB of a remote database. Nothing is sent until
// the first statement; a database that does not exist fails there and is
// not created. The caller closes it.
func OpenRemote(r Remote) (*sql.DB, error) {
	tuneHTTP()
	var opts []libsql.Option
	if r.Token != "" {
		opts = append(opts, libsql.WithAuthToken(r.Token))
	}
	if r.Namespace != "" {
		opts = append(opts, libsql.WithRequestHeaders(map[string]string{NamespaceHeader: NamespaceValue(r.Namespace)}))
	}
	if r.Proxy != "" {
		opts = append(opts, libsql.WithProxy(r.Proxy))
	}
	c, err := libsql.NewConnector(r.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", Redact(r.URL), err)
	}
	return sql.OpenDB(c), nil
}

// NamespaceHeader chooses a sqld namespace; its value is NamespaceValue.
const NamespaceHeader = "x-namespace-bin"

// NamespaceValue is a namespace as x-namespace-bin carries it: base64,
// without padding (sqld refuses padding).
func NamespaceValue(ns string) string { return base64.RawStdEncoding.EncodeToString([]byte(ns)) }

var tuneOnce sync.Once

// tuneHTTP sets up the HTTP client the libsql client uses (it always uses
// http.DefaultClient) for a fleet of thousands of databases: connect and
// header timeouts, so that a dead host fails instead of hanging (the
// client closes its streams in the background, without a deadline), and
// enough idle connections per host that 32 or 64 workers reuse theirs
// instead of opening one per tenant. Only http.DefaultClient's transport
// changes; http.DefaultTransport is left as it is.
func tuneHTTP() {
	tuneOnce.Do(func() {
		if http.DefaultClient.Transport != nil {
			return // someone chose a transport on purpose
		}
		http.DefaultClient.Transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   128,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 5 * time.Minute,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
		}
	})
}

package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/telemetry"
)

// Operations: health and readiness checks, Prometheus metrics, and the
// middleware that gives every request an ID, a logger and a place in the
// latency histogram.

// ReadyTimeout bounds the readiness check's query to the central database.
const ReadyTimeout = 2 * time.Second

func (s *Server) opsRoutes(e *echo.Echo) {
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	// Readiness and metrics say how the deployment is doing: a logged-in
	// user or a scraper holding the metrics token may ask, nobody else
	// (ServeOps offers them without login on a private address).
	e.GET("/readyz", echo.WrapHandler(http.HandlerFunc(s.handleReady)), s.requireUserOrToken)
	e.GET("/metrics", echo.WrapHandler(s.Metrics.Handler(s.Log, false)), s.requireUserOrToken)
}

// handleReady answers 200 when the central database answers a query in
// time, else 503 with the reason.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.DB.Ping(ctx); err != nil {
		reason := err.Error()
		if ctx.Err() != nil {
			reason = fmt.Sprintf("no answer within %s", ReadyTimeout)
		}
		telemetry.Logger(r.Context(), s.Log).Warn("not ready: the central database did not answer", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: central database: %s\n", strings.Join(strings.Fields(reason), " "))
		return
	}
	fmt.Fprint(w, "ready\n")
}

// requireUserOrToken lets in a logged-in user, or a request that sends
// "Authorization: Bearer" with the metrics token. A wrong token is
// refused outright (a scraper must not be sent to the login form).
func (s *Server) requireUserOrToken(next echo.HandlerFunc) echo.HandlerFunc {
	withUser := s.requireUser(next)
	return func(c echo.Context) error {
		scheme, tok, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return withUser(c)
		}
		if s.MetricsToken == "" {
			return fleet.Errorf(fleet.EUNAUTHORIZED, "No metrics token is configured (TENANTRY_METRICS_TOKEN); log in instead.")
		}
		// Hashing first makes the comparison's time independent of the
		// token's length too.
		got, want := sha256.Sum256([]byte(strings.TrimSpace(tok))), sha256.Sum256([]byte(s.MetricsToken))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return fleet.Errorf(fleet.EUNAUTHORIZED, "The bearer token is not the metrics token.")
		}
		return next(c)
	}
}

// OpsHandler serves only /healthz, /readyz and /metrics, without login:
// for a load balancer's checks and a Prometheus scraper on a private
// address (serve --ops-addr), never for the public one.
func (s *Server) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", s.Metrics.Handler(s.Log, true))
	return mux
}

// requestIDPattern is what an incoming X-Request-ID must look like to be
// kept (a proxy's or a client's trace ID); anything else is replaced, so
// that log lines never carry a stranger's long or control-laden text.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// methodLabel bounds the method label: a client may send any token as a
// method, and every distinct label is a time series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// observe is the outermost middleware: it gives the request an ID (kept
// from X-Request-ID if sane) and a logger carrying it in its context,
// counts it in flight, turns a panic into a logged 500, and when the
// answer is sent records its latency by route template and logs it.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		id := req.Header.Get(echo.HeaderXRequestID)
		if !requestIDPattern.MatchString(id) {
			id = newRequestID()
		}
		res := c.Response()
		res.Header().Set(echo.HeaderXRequestID, id)
		log := s.Log.With("request_id", id)
		c.SetRequest(req.WithContext(telemetry.WithLogger(req.Context(), log)))
		done := s.Metrics.RequestStarted()
		defer done()
		// The server's own time, up to the first byte, for browsers'
		// developer tools and for the load benchmarks.
		res.Before(func() {
			res.Header().Set("Server-Timing", "app;dur="+strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 3, 64))
		})
		if err := s.recovered(c, log, next); err != nil {
			c.Error(err)
		}
		took := time.Since(start)
		route := c.Path()
		if !s.routes[route] {
			route = "unmatched"
		}
		s.Metrics.ObserveRequest(methodLabel(req.Method), route, res.Status, took)
		lvl := slog.LevelDebug
		if res.Status >= 500 {
			lvl = slog.LevelError
		}
		if !log.Enabled(req.Context(), lvl) {
			return nil // the common case in production: no request log at info
		}
		log.LogAttrs(req.Context(), lvl, "request", slog.String("method", req.Method), slog.String("path", req.URL.Path),
			slog.String("route", route), slog.Int("status", res.Status), slog.Int64("bytes", res.Size),
			slog.Duration("duration", took), slog.String("ip", c.RealIP()))
		return nil
	}
}

// recovered runs next, turning a panic into an error the error handler
// answers with a 500; the stack goes to the log under the request's ID.
func (s *Server) recovered(c echo.Context, log *slog.Logger, next echo.HandlerFunc) (err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v) // the server's own way to drop a connection
		}
		log.Error("panic", "panic", fmt.Sprint(v), "method", c.Request().Method, "path", c.Request().URL.Path, "stack", string(debug.Stack()))
		err = fmt.Errorf("panic: %v", v)
	}()
	return next(c)
}

// logger returns the request's logger (with its request ID).
func (s *Server) logger(c echo.Context) *slog.Logger {
	return telemetry.Logger(c.Request().Context(), s.Log)
}
